// Builds the cornerstone3D viewer library into ../static/vendor/cornerstone/ (committed: the app never runs
// node). Usage: `cd frontend && npm ci && npm run build`.
//
// Output (all in one folder, everything loaded by URL relative to cornerstone.js):
//   cornerstone.js              ES module, sets window.L2Cornerstone (src/cornerstone-entry.js)
//   decodeImageFrameWorker.js   the dicom image loader's decode web worker (module worker)
//   *.wasm                      codecs: JPEG 2000 (openjpeg), HTJ2K (openjph), JPEG-LS (charls),
//                               JPEG baseline 8-bit (libjpeg-turbo); JPEG lossless / 12-bit are pure JS
//   VERSIONS.txt, LICENSES.txt  exact versions of what was bundled, and their licence notices
//
// JPEG XL (libjxl, 1 MB of wasm, no mammography modality emits it) is left out: its import is replaced by a
// stub that rejects with a clear error.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, '..', 'static', 'vendor', 'cornerstone');
const require = createRequire(import.meta.url);
const nodeModules = path.join(here, 'node_modules');

const pkgJson = (name) => JSON.parse(fs.readFileSync(path.join(nodeModules, name, 'package.json'), 'utf8'));
const self = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));
const direct = { ...self.dependencies, ...self.devDependencies };

// name of the package (in node_modules) a file belongs to, or null for our own sources
function packageOf(file) {
  const rel = path.relative(nodeModules, path.resolve(here, file));
  if (rel.startsWith('..')) return null;
  const parts = rel.split(path.sep);
  const idx = parts.lastIndexOf('node_modules'); // nested node_modules
  const rest = idx >= 0 ? parts.slice(idx + 1) : parts;
  const name = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  const prefix = idx >= 0 ? parts.slice(0, idx + 1).join('/') + '/' : '';
  return prefix + name;
}

// WASM codecs copied next to the worker, under the names the decoders ask for (see
// @cornerstonejs/dicom-image-loader/dist/esm/shared/decoders/*.js: resolveWasmUrl(name, ...)).
const WASM = [
  ['@cornerstonejs/codec-openjpeg/decodewasm', 'openjpegwasm_decode.wasm'],
  ['@cornerstonejs/codec-openjph/wasm', 'openjphjs.wasm'],
  ['@cornerstonejs/codec-charls/decodewasm', 'charlswasm_decode.wasm'],
  ['@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm', 'libjpegturbowasm_decode.wasm'],
];

const noJpegXl = {
  name: 'no-jpegxl',
  setup(build) {
    build.onResolve({ filter: /^@cornerstonejs\/codec-libjxl(\/|$)/ }, (args) => ({
      path: args.path,
      namespace: 'no-jpegxl',
    }));
    build.onLoad({ filter: /.*/, namespace: 'no-jpegxl' }, () => ({
      contents:
        'export default function () { return Promise.reject(new Error(' +
        '"JPEG XL decoding is not included in the L2 platform cornerstone build (frontend/build.mjs)")); }',
      loader: 'js',
    }));
  },
};

// Node built-ins required by browser-bound code: the emscripten glue of the codecs (fs, path: only in its
// never-taken node branch) and xmlbuilder2, which vtk.js's XML readers pull in (events, url: at load time).
const NODE_SHIMS = {
  events: `export class EventEmitter {
  constructor() { this._l = new Map(); }
  on(type, fn) { (this._l.get(type) || this._l.set(type, []).get(type)).push(fn); return this; }
  addListener(type, fn) { return this.on(type, fn); }
  off(type, fn) { const l = this._l.get(type); if (l) l.splice(l.indexOf(fn) >>> 0, 1); return this; }
  removeListener(type, fn) { return this.off(type, fn); }
  emit(type, ...args) {
    const l = this._l.get(type);
    if (!l || !l.length) { if (type === 'error') throw args[0]; return false; }
    for (const fn of [...l]) fn.apply(this, args);
    return true;
  }
}
export default EventEmitter;`,
  url: `export function domainToASCII(domain) { try { return new URL('http://' + domain).hostname; } catch { return ''; } }
export function domainToUnicode(domain) { return domain; }
export default { domainToASCII, domainToUnicode };`,
  fs: 'export default {};',
  path: 'export default {};',
};

const nodeShims = {
  name: 'node-shims',
  setup(build) {
    const filter = new RegExp(`^(node:)?(${Object.keys(NODE_SHIMS).join('|')})$`);
    build.onResolve({ filter }, (args) => ({ path: args.path.replace(/^node:/, ''), namespace: 'node-shim' }));
    build.onLoad({ filter: /.*/, namespace: 'node-shim' }, (args) => ({
      contents: NODE_SHIMS[args.path],
      loader: 'js',
    }));
  },
};

// @cornerstonejs/tools starts its segmentation "compute" worker (segment statistics, contours from labelmaps)
// from new URL('../workers/computeWorker.js', import.meta.url), i.e. outside this folder once bundled: point it
// at ./computeWorker.js. That worker is 3.4 MB minified and unused by a 2-D mammography reader, so it is only
// built with L2_COMPUTE_WORKER=1 (without it those segmentation utilities fail to start their worker).
const WITH_COMPUTE_WORKER = process.env.L2_COMPUTE_WORKER === '1';
const computeWorkerUrl = {
  name: 'compute-worker-url',
  setup(build) {
    build.onLoad({ filter: /[\\/]@cornerstonejs[\\/]tools[\\/].*registerComputeWorker\.js$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, 'utf8');
      const from = "new URL('../workers/computeWorker.js', import.meta.url)";
      if (!source.includes(from)) throw new Error(`${args.path}: compute worker URL not found, update build.mjs`);
      return { contents: source.replace(from, "new URL('./computeWorker.js', import.meta.url)"), loader: 'js' };
    });
  },
};

// Fixes applied to the packages' sources while bundling (the build fails if a patched text is not found, e.g.
// after an upgrade: check whether upstream fixed it, then drop or update the patch).
const PATCHES = [
  {
    // cornerstone3D issue #2844 (open in 5.14.0, fix proposed in PR #2856): createImage indexes the VOI LUT
    // Function (0028,1056) as if it were an array, but the metadata providers return a string, so "LINEAR" becomes
    // "L", getVOIRangeFromWindowLevel throws "Invalid VOI LUT function" and the stack viewport renders without the
    // DICOM window (blown-out mammograms: MG images usually carry the attribute). Normalise it instead.
    file: /[\\/]@cornerstonejs[\\/]dicom-image-loader[\\/]dist[\\/]esm[\\/]imageLoader[\\/]createImage\.js$/,
    from: `voiLUTFunction: (voiLutModule.voiLUTFunction?.length &&
                    voiLutModule.voiLUTFunction[0]) ||
                    voiLutModule.voiLutFunction ||
                    undefined,`,
    to: `voiLUTFunction: ((value) => {
                    value = String((Array.isArray(value) ? value[0] : value) ?? '').trim().toUpperCase();
                    return ['LINEAR', 'LINEAR_EXACT', 'SIGMOID'].includes(value) ? value : undefined;
                })(voiLutModule.voiLUTFunction ?? voiLutModule.voiLutFunction),`,
  },
];
const patchSources = {
  name: 'patch-sources',
  setup(build) {
    for (const patch of PATCHES) {
      build.onLoad({ filter: patch.file }, async (args) => {
        const source = await fs.promises.readFile(args.path, 'utf8');
        if (!source.includes(patch.from)) throw new Error(`${args.path}: text to patch not found, update build.mjs`);
        return { contents: source.replace(patch.from, patch.to), loader: 'js' };
      });
    }
  },
};

const bundled = [
  '@cornerstonejs/core',
  '@cornerstonejs/tools',
  '@cornerstonejs/metadata',
  '@cornerstonejs/dicom-image-loader',
];
const versions = Object.fromEntries(bundled.map((name) => [name, pkgJson(name).version]));

fs.rmSync(outdir, { recursive: true, force: true });
fs.mkdirSync(outdir, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: {
    cornerstone: 'src/cornerstone-entry.js',
    // not in the package's "exports": taken by path
    decodeImageFrameWorker: 'node_modules/@cornerstonejs/dicom-image-loader/dist/esm/decodeImageFrameWorker.js',
    ...(WITH_COMPUTE_WORKER ? { computeWorker: 'node_modules/@cornerstonejs/tools/dist/esm/workers/computeWorker.js' } : {}),
  },
  outdir,
  bundle: true,
  format: 'esm', // import.meta.url locates the worker and the wasm files; workers are {type: 'module'}
  splitting: false, // two self-contained files: the page bundle and the worker
  platform: 'browser',
  target: ['es2022', 'chrome111', 'firefox115', 'safari16.4'],
  minify: true,
  sourcemap: false, // no //# sourceMappingURL: manifest static storages would try to resolve it
  legalComments: 'none', // licences are gathered into LICENSES.txt below
  charset: 'utf8',
  logLevel: 'warning',
  metafile: true,
  define: {
    'process.env.NODE_ENV': '"production"',
    __L2_CORNERSTONE_VERSIONS__: JSON.stringify(versions),
  },
  plugins: [noJpegXl, nodeShims, computeWorkerUrl, patchSources],
});

// size analysis: L2_METAFILE=/tmp/meta.json npm run build, then https://esbuild.github.io/analyze/ or below
if (process.env.L2_METAFILE) fs.writeFileSync(process.env.L2_METAFILE, JSON.stringify(result.metafile));

for (const [spec, name] of WASM) {
  fs.copyFileSync(require.resolve(spec), path.join(outdir, name));
}

// every package whose code ended in a bundle, plus the codec packages whose .wasm files are copied
const used = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const pkg = packageOf(input.replace(/^[a-z-]+:/, ''));
  if (pkg) used.add(pkg);
}
for (const [spec] of WASM) used.add(spec.split('/').slice(0, 2).join('/'));
const packages = [...used].sort();

function licenceText(pkg) {
  const dir = path.join(nodeModules, pkg);
  const file = fs
    .readdirSync(dir)
    .sort()
    .find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  return file ? fs.readFileSync(path.join(dir, file), 'utf8').trim() : null;
}

// standard texts for packages that declare a licence in package.json but ship no licence file
const LICENCE_TEMPLATES = {
  MIT: (holder) => `MIT License

Copyright (c) ${holder}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.`,
  ISC: (holder) => `ISC License

Copyright (c) ${holder}

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.`,
};

// native libraries compiled into the codec packages' .wasm files (and their emscripten glue)
const NATIVE = [
  ['OpenJPEG (in @cornerstonejs/codec-openjpeg)', 'BSD-2-Clause', 'https://github.com/uclouvain/openjpeg'],
  ['OpenJPH (in @cornerstonejs/codec-openjph)', 'BSD-2-Clause', 'https://github.com/aous72/OpenJPH'],
  ['CharLS (in @cornerstonejs/codec-charls)', 'BSD-3-Clause', 'https://github.com/team-charls/charls'],
  [
    'libjpeg-turbo (in @cornerstonejs/codec-libjpeg-turbo-8bit)',
    'IJG License, BSD-3-Clause and Zlib; "This software is based in part on the work of the Independent JPEG Group."',
    'https://github.com/libjpeg-turbo/libjpeg-turbo',
  ],
  ['Emscripten runtime (glue code of the codecs)', 'MIT OR NCSA', 'https://github.com/emscripten-core/emscripten'],
];

const licences = [
  'Licence notices of the third-party packages bundled into static/vendor/cornerstone/',
  '(generated by frontend/build.mjs from each package\'s own licence file).',
  '',
];
const missing = [];
for (const pkg of packages) {
  const meta = pkgJson(pkg);
  const text = licenceText(pkg);
  licences.push('='.repeat(78), `${meta.name}@${meta.version} -- ${meta.license ?? 'see below'}`);
  if (meta.homepage || meta.repository) {
    const repo = typeof meta.repository === 'string' ? meta.repository : meta.repository?.url;
    licences.push(meta.homepage || repo);
  }
  licences.push('='.repeat(78), '');
  if (text) {
    licences.push(text, '');
  } else {
    missing.push(pkg);
    const author = typeof meta.author === 'string' ? meta.author : meta.author?.name;
    const holder = author || `the ${meta.name} authors`;
    const template = LICENCE_TEMPLATES[meta.license];
    licences.push(`(The package ships no licence file; its package.json declares "${meta.license}".)`, '');
    if (template) licences.push(template(holder), '');
  }
}
licences.push('='.repeat(78), 'Native libraries compiled into the .wasm codecs', '='.repeat(78), '');
for (const [name, licence, url] of NATIVE) licences.push(`${name}: ${licence}`, `  ${url}`);
licences.push('');
fs.writeFileSync(path.join(outdir, 'LICENSES.txt'), licences.join('\n'));

const files = fs.readdirSync(outdir).sort();
const lines = [
  'cornerstone3D build for the L2 platform (generated by frontend/build.mjs; do not edit by hand)',
  '',
  'Rebuild: cd frontend && npm ci && npm run build',
  `Built with node ${process.version}, esbuild ${esbuild.version}`,
  '',
  'Direct dependencies (frontend/package.json):',
  ...Object.entries(direct).map(([name, v]) => `  ${name}@${pkgJson(name).version}${v === pkgJson(name).version ? '' : ` (spec ${v})`}`),
  '',
  'Packages bundled (code in the .js files or .wasm files copied):',
  ...packages.map((pkg) => `  ${pkgJson(pkg).name}@${pkgJson(pkg).version} (${pkgJson(pkg).license ?? '?'})`),
  '',
  'Patched while bundling (see PATCHES in frontend/build.mjs):',
  '  @cornerstonejs/dicom-image-loader createImage: VOI LUT Function read as a string (cornerstone3D issue #2844)',
  '',
  'Left out: @cornerstonejs/codec-libjxl (JPEG XL transfer syntaxes fail with an explicit error).',
  WITH_COMPUTE_WORKER
    ? 'Built with L2_COMPUTE_WORKER=1: computeWorker.js (segmentation statistics worker) included.'
    : 'Left out: the tools\' segmentation compute worker (computeWorker.js; rebuild with L2_COMPUTE_WORKER=1).',
  '',
  'Files:',
  ...files
    .filter((f) => f !== 'VERSIONS.txt')
    .map((f) => `  ${f.padEnd(32)} ${String(fs.statSync(path.join(outdir, f)).size).padStart(9)} bytes`),
  '',
];
fs.writeFileSync(path.join(outdir, 'VERSIONS.txt'), lines.join('\n'));

let total = 0;
for (const f of fs.readdirSync(outdir)) total += fs.statSync(path.join(outdir, f)).size;
console.log(`static/vendor/cornerstone: ${fs.readdirSync(outdir).length} files, ${(total / 1024).toFixed(0)} KiB`);
if (missing.length) console.log(`no licence file in ${missing.join(', ')}: standard text of the declared licence used`);
const unknown = missing.filter((pkg) => !LICENCE_TEMPLATES[pkgJson(pkg).license]);
if (unknown.length) throw new Error(`no licence file nor known licence template for ${unknown.join(', ')}`);
