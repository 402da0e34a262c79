// Run a MicroPython script with the firmware modules on its filesystem, in the real MicroPython VM
// (the WebAssembly port, from npm). Usage: node run.mjs MODULE_DIR FIRMWARE_DIR SCRIPT.py
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [moduleDir, firmwareDir, scriptPath] = process.argv.slice(2);
const { loadMicroPython } = await import(pathToFileURL(resolve(moduleDir, "micropython.mjs")).href);
let out = "";
const mp = await loadMicroPython({ heapsize: 4 * 1024 * 1024, stdout: (line) => { out += line + "\n"; } });
for (const name of readdirSync(firmwareDir)) {
  if (name.endsWith(".py") && name !== "__init__.py" && name !== "main.py") {
    mp.FS.writeFile("/" + name, readFileSync(join(firmwareDir, name)));
  }
}
try {
  mp.runPython(readFileSync(scriptPath, "utf8"));
  process.stdout.write(out);
} catch (error) {
  process.stdout.write(out);
  process.stderr.write(String(error && error.message ? error.message : error) + "\n");
  process.exit(1);
}
