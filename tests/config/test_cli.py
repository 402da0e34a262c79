"""The `echannel` command line: help everywhere, a version, clear usage errors."""

from __future__ import annotations

import pytest

import edge
from edge.cli import build_parser, main


def subcommand_paths(parser, prefix=()):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from subcommand_paths(sub, (*prefix, name))


@pytest.mark.parametrize("path", [(), *subcommand_paths(build_parser())], ids=lambda p: " ".join(p) or "echannel")
def test_every_command_has_help(path, capsys):
    with pytest.raises(SystemExit) as done:
        main([*path, "--help"])
    assert done.value.code == 0
    assert "usage: echannel" in capsys.readouterr().out


def test_version(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"echannel {edge.__version__}"


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as done:
        main(["teleport"])
    assert done.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
