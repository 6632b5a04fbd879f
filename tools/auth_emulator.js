// The Firebase Auth emulator's own server (from the firebase-tools npm package), started
// without the CLI's launcher, which waits on the network and the emulator hub:
//   NODE_PATH=…/node_modules node tools/auth_emulator.js PORT
// Prints "ready" once it listens on 127.0.0.1:PORT (the first start compiles its API spec:
// seconds on an idle machine, minutes on a loaded one).
const { createApp } = require("firebase-tools/lib/emulator/auth/server");

const port = Number(process.argv[2]);
createApp("demo-dltrack").then((app) => {
  app.listen(port, "127.0.0.1", () => console.log("ready"));
});
