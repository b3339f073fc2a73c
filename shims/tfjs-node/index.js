// danfojs-node requires '@tensorflow/tfjs-node' at load time. Loading a second
// native TensorFlow (or a second tfjs-core) into the process would register every
// kernel twice, so this shim hands back the engine batchlab already uses: the
// native binding when it loads, else plain @tensorflow/tfjs.
'use strict';
let tf;
try {
  tf = require('@tensorflow/tfjs-node-gpu');
} catch (_err) {
  tf = require('@tensorflow/tfjs');
}
module.exports = tf;
