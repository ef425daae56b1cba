/** Types for scripts/offline-editor.mjs (plain JavaScript, so `npm start` runs it without a build). */
export declare const OFFLINE_ENV: Readonly<Record<string, string>>;
export declare const OFFLINE_SETTINGS: Readonly<Record<string, boolean | string>>;
