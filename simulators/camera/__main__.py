"""python -m simulators.camera --port N [--fps F] [--scenario genuine --person obama]"""

from __future__ import annotations

import argparse
import signal
import sys

from simulators.camera.scenes import SCENARIOS, ScenarioSpec
from simulators.camera.server import CameraServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.camera", description=__doc__)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--scenario", choices=SCENARIOS, default="no_face")
    parser.add_argument("--person", default="obama")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    server = CameraServer(args.port, args.fps, (args.width, args.height))
    server.set_scenario(ScenarioSpec(name=args.scenario, person=args.person, seed=args.seed))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"camera simulator: {server.url} (scenario {args.scenario}, control: POST /scenario)", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
