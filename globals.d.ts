/** Replaced at build time (build.mjs, vitest.config.ts) by package.json's version. */
declare const __DWS_VERSION__: string;
