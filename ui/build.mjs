// Builds the web pages into one folder (default dist/, or the folder given, which is how
// the wuzhi-web crate's build script embeds them): app.js (preact, bundled and minified),
// app.css and index.html. Nothing is loaded from outside the server.
import * as esbuild from "esbuild";
import { mkdirSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] || join(here, "dist");
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: [join(here, "src/main.jsx")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outfile: join(out, "app.js"),
  legalComments: "none",
  loader: { ".png": "dataurl", ".svg": "dataurl" },
  logLevel: "warning",
});
// The styles imported by the script (base.css, Leaflet's) come out beside it as app.css.
copyFileSync(join(here, "src", "index.html"), join(out, "index.html"));
// Compressed once here, so phones on slow links get a fraction of the bytes.
for (const f of ["app.js", "app.css"]) writeFileSync(join(out, `${f}.gz`), gzipSync(readFileSync(join(out, f)), { level: 9 }));
// The service worker, named after this build so a release replaces the pages it keeps.
const version = createHash("sha256").update(readFileSync(join(out, "app.js"))).update(readFileSync(join(out, "app.css"))).digest("hex").slice(0, 12);
writeFileSync(join(out, "sw.js"), readFileSync(join(here, "src", "sw.js"), "utf8").replaceAll("__VERSION__", version));
