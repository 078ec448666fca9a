// Entry of the cornerstone3D bundle served from /static/vendor/cornerstone/cornerstone.js.
//
// Load it as an ES module (`<script type="module" src="{% static 'vendor/cornerstone/cornerstone.js' %}">`):
// it sets `window.L2Cornerstone` and also exports the same object as its default export.
// The decode worker (decodeImageFrameWorker.js) and the codecs' *.wasm files are fetched by URL relative
// to this file, so they must stay in the same folder.
import * as core from '@cornerstonejs/core';
import * as tools from '@cornerstonejs/tools';
import * as metadata from '@cornerstonejs/metadata';
import * as dicomImageLoader from '@cornerstonejs/dicom-image-loader';

// Folder of this bundle, e.g. "https://host/static/vendor/cornerstone/". Under whitenoise/manifest storage the
// bundle's own name may be hashed; the worker and the .wasm files are then found by their plain names beside it.
const baseUrl = new URL('.', import.meta.url).href;

let initialising = null;

/**
 * Initialise cornerstone core, the tools and the DICOM image loader (wadouri:, dicomweb:, wadors: image ids)
 * with its decode web workers. Idempotent: later calls return the first call's promise.
 *
 * @param {object} [options]
 * @param {object} [options.core] configuration for core.init (e.g. {rendering: {useCPURendering: true}})
 * @param {object} [options.dicomImageLoader] options merged into dicomImageLoader.init (e.g. beforeSend)
 * @param {object} [options.tools] configuration for tools.init
 * @returns {Promise<{core: object, tools: object, dicomImageLoader: object}>}
 */
function init(options = {}) {
  if (!initialising) {
    initialising = (async () => {
      core.init(options.core);
      dicomImageLoader.init({
        maxWebWorkers: 2,
        wasmBasePath: baseUrl,
        ...options.dicomImageLoader,
      });
      tools.init(options.tools);
      return api;
    })();
    initialising.catch(() => {
      initialising = null;
    });
  }
  return initialising;
}

const api = Object.freeze({
  core,
  tools,
  metadata,
  dicomImageLoader,
  init,
  baseUrl,
  versions: Object.freeze(__L2_CORNERSTONE_VERSIONS__),
});

window.L2Cornerstone = api;

export default api;
