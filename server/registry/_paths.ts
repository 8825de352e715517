/**
 * Route patterns of the embedded registry: repository names span path segments; references,
 * digests and upload session ids do not (OCI distribution spec v1.1 "Definitions").
 *
 * @module
 */

/** A repository name: one or more path segments. */
export const NAME = ":name{.+}";
/** `/v2/<name>/manifests/<reference>`. */
export const MANIFEST = `/v2/${NAME}/manifests/:reference{[^/]+}`;
/** `/v2/<name>/blobs/<digest>`. */
export const BLOB = `/v2/${NAME}/blobs/:digest{[^/]+}`;
/** `/v2/<name>/blobs/uploads/`. */
export const UPLOADS = `/v2/${NAME}/blobs/uploads/`;
/** `/v2/<name>/blobs/uploads/<session id>`. */
export const UPLOAD = `/v2/${NAME}/blobs/uploads/:id{[^/]+}`;
/** `/v2/<name>/tags/list`. */
export const TAGS = `/v2/${NAME}/tags/list`;
/** `/v2/<name>/referrers/<digest>`. */
export const REFERRERS = `/v2/${NAME}/referrers/:digest{[^/]+}`;
