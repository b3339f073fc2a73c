// danfojs-node uses request only to read CSV/JSON from a URL. batchlab reads local files,
// so the deprecated package (and its ~40 dependencies) stays out and any call refuses.
'use strict';
function refuse() {
  throw new Error('batchlab: reading data from URLs through danfojs-node is not available (the request dependency is shimmed out; see shims/request)');
}
refuse.get = refuse;
module.exports = refuse;
module.exports.default = refuse;
