// A stand-in for the `electron` module as the preload sees it (contextBridge, ipcRenderer):
// records what is exposed and lets the test play the main process's side.
const listeners = new Map();
export const fake = (globalThis.__preloadFake = {
  exposed: {},
  invoked: [],
  answer: null,
  listeners,
  emit(channel, payload) {
    for (const l of listeners.get(channel) ?? []) l({ sender: null }, payload);
  },
});
export const contextBridge = {
  exposeInMainWorld(key, api) {
    fake.exposed[key] = api;
  },
};
export const ipcRenderer = {
  invoke(channel, msg) {
    fake.invoked.push([channel, msg]);
    return Promise.resolve(fake.answer(msg));
  },
  on(channel, l) {
    if (!listeners.has(channel)) listeners.set(channel, new Set());
    listeners.get(channel).add(l);
  },
  removeListener(channel, l) {
    listeners.get(channel)?.delete(l);
  },
};
