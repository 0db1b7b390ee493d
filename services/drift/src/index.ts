/** @daalu/drift — desired-state bundles: parse and validate an upload (the service and detection come next). */
export { parseBundle, DEFAULT_BUNDLE_LIMITS, type BundleLimits, type BundleProblem, type DesiredObject, type ParsedBundle } from "./domain/bundle.js";
