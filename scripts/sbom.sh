#!/usr/bin/env bash
# sbom.sh [OUT]: write a CycloneDX 1.5 SBOM (JSON) of what SurgeGuard ships: every package that
# package-lock.json installs without dev dependencies (what `npm ci --omit=dev` puts in the image),
# with its version, purl, license and the lockfile's SHA-512. Stdout when OUT is missing or `-`.
# Offline and fast (about 2 s): it reads the lockfile only, needs no node_modules and no download.
#
# How: npm's built-in `npm sbom --package-lock-only` (npm >= 10), then dev-only components are
# dropped using the lockfile's own `dev` flags. npm's `--omit dev` is not used on purpose: npm
# 11.19 drops production packages that dev tools also depend on (zod, debug, semver, ms, ...:
# 177 of the 205 production packages are left), and on an installed tree without dev
# dependencies `npm sbom` fails with ESBOMPROBLEMS (the dev dependencies are "missing").
# With SOURCE_DATE_EPOCH set, metadata.timestamp is that time and serialNumber derives from the
# content, so the same lockfile gives the same bytes.
#
# Base images are not npm packages: their pinned digests are in the Dockerfile (NODE_IMAGE,
# RUNTIME_IMAGE); scripts/sbom-base-images.sh refreshes them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:--}
cd "$ROOT"
[ -f package-lock.json ] || { echo "sbom.sh: no package-lock.json in $ROOT" >&2; exit 1; }
# npm warns about the project's onnxruntime-node-install key in .npmrc; it is not ours to fix here.
npm sbom --sbom-format cyclonedx --package-lock-only 2> >(grep -v 'Unknown project config' >&2) | node --input-type=module -e '
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
const bom = JSON.parse(readFileSync(0, "utf8"));
const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const pkg = JSON.parse(readFileSync("package.json", "utf8"));
// name@version of every lockfile entry that a production install gets (no `dev` flag).
const shipped = new Set();
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  if (path === "" || entry.dev || entry.link) continue;
  const name = entry.name ?? path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
  shipped.add(`${name}@${entry.version}`);
}
const keep = (ref) => shipped.has(ref);
bom.components = bom.components.filter((c) => keep(`${c.name}@${c.version}`));
const refs = new Set(bom.components.map((c) => c["bom-ref"]));
const root = `${pkg.name}@${pkg.version}`;
refs.add(root);
// The root keeps its production edges only (a devDependency can also be installed for a
// production package, as @types/node is, without the root depending on it in production).
const rootDeps = new Set(Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies }));
const edge = (from, to) => refs.has(to) && (from !== root || rootDeps.has(to.slice(0, to.lastIndexOf("@"))));
bom.dependencies = (bom.dependencies ?? [])
  .filter((d) => refs.has(d.ref))
  .map((d) => ({ ...d, dependsOn: (d.dependsOn ?? []).filter((r) => edge(d.ref, r)) }));
// npm names the root after the folder it runs in; the product is package.json`s name.
Object.assign(bom.metadata.component, { name: pkg.name, "bom-ref": root });
bom.metadata.lifecycles = [{ phase: "build" }];
if (process.env.SOURCE_DATE_EPOCH) {
  // Same lockfile, same bytes: the time is given and the serial number derives from the content.
  bom.metadata.timestamp = new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000).toISOString();
  const h = createHash("sha256").update(JSON.stringify({ ...bom, serialNumber: "" })).digest("hex");
  bom.serialNumber = `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
const missing = [...shipped].filter((id) => !bom.components.some((c) => `${c.name}@${c.version}` === id));
if (missing.length > 0) {
  process.stderr.write(`sbom.sh: npm sbom left out ${missing.length} production package(s): ${missing.slice(0, 10).join(", ")}\n`);
  process.exit(1);
}
const text = `${JSON.stringify(bom, null, 2)}\n`;
if (process.argv[1] === "-") process.stdout.write(text);
else writeFileSync(process.argv[1], text);
process.stderr.write(`sbom.sh: ${bom.components.length} components (CycloneDX ${bom.specVersion}) -> ${process.argv[1] === "-" ? "stdout" : process.argv[1]}\n`);
' "$OUT"
