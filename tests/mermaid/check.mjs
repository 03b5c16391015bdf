// Parse every ```mermaid block of the given Markdown files with Mermaid's own parser.
// Prints one line per block ("ok FILE" or "ERROR FILE: message"); exit 1 if any block fails.
import { JSDOM } from "jsdom";
import { readFileSync } from "node:fs";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

let failures = 0;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  for (const match of text.matchAll(/```mermaid\n([\s\S]*?)```/g)) {
    try {
      await mermaid.parse(match[1]);
      console.log(`ok ${file}`);
    } catch (error) {
      failures++;
      console.log(`ERROR ${file}: ${String(error.message || error).split("\n").join(" | ")}`);
    }
  }
}
process.exit(failures ? 1 : 0);
