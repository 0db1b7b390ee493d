// ESLint (flat config): type-aware promise rules over every workspace. Generated
// protobuf code is excluded (buf regenerates it). Run: npm run lint.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "packages/proto/src/gen/**", "packages/testing/src/otlp/gen/**", ".data/**", ".bench/**", "web/dist/**", "test-results/**", "packages/*/dist/**", "services/*/dist/**", "edge/dist/**", ".build/**"],
  },
  {
    files: ["services/**/*.ts", "edge/**/*.ts", "packages/**/*.ts", "e2e/**/*.ts", "bench/**/*.ts", "web/**/*.ts", "web/**/*.tsx"],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // A promise nobody awaits loses its rejection (an unhandled rejection kills the process).
      // node:test's test()/describe() return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "it", "describe", "suite"] }] },
      ],
      // An async callback where a void one is expected (EventEmitter.on, setInterval) drops its rejection;
      // an async function used as an if-condition is always truthy.
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: true, attributes: false } }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // The Kubernetes API double stores and patches schemaless JSON objects of any kind.
    files: ["packages/kube-double/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
