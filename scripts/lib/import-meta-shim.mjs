// Injected into the bundle (esbuild `inject`) as the value of `import.meta`, which CommonJS
// output otherwise leaves empty: in the single executable, url/filename/dirname name the binary.
// Tree-shaken away while no bundled code reads import.meta.
export const __kbootImportMeta = {
  get url() {
    return require('node:url').pathToFileURL(__filename).href;
  },
  get filename() {
    return __filename;
  },
  get dirname() {
    return __dirname;
  },
};
