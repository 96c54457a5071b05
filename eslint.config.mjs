// Lint for the TypeScript sources and the plain build scripts.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "nodes/**/*.html", ".demo/**", "resources/noojee-extensions.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      // `const node = this` is the Node-RED idiom for node constructors.
      "@typescript-eslint/no-this-alias": ["error", { allowedNames: ["node"] }],
      // `import x = require()` is how TypeScript imports our `export =` node modules.
      "@typescript-eslint/no-require-imports": ["error", { allowAsImport: true }],
    },
  },
  {
    files: ["scripts/**/*.js", "**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { require: "readonly", module: "writable", __dirname: "readonly", process: "readonly", console: "readonly" },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // Editor code shared by the node forms: a plain script in the Node-RED editor page.
    files: ["resources/**/*.js"],
    languageOptions: { sourceType: "script", globals: { RED: "readonly", $: "readonly" } },
  },
);
