import { defineConfig } from 'vite';

// Output goes to the build tree (PRESENCED_WEB_OUT, set by CMake) or web/dist; hashed file names
// let the server mark assets immutable.
export default defineConfig({
  build: {
    outDir: process.env.PRESENCED_WEB_OUT ?? 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
