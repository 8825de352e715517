/**
 * Third-party test tools, pinned once.
 *
 * @module
 */

export { default as fc } from "npm:fast-check@4.10.2";
