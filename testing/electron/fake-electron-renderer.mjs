// A stand-in for the `electron` module as the preload sees it (contextBridge, ipcRenderer):
// records what is exposed and lets the test play the main process's side.
const listeners = new Map();
export const fake = (globalThis.__preloadFake = {
  exposed: {},
  invoked: [],
  answer: null,
  // Frame acks (the ack channel), apart from requests; and how main answers them.
  acks: [],
  answerAck: () => null,
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
  // Async like Electron's: a main process that throws (no handler) rejects, never throws here.
  async invoke(channel, msg) {
    if (channel === 'pagescope:ack') {
      fake.acks.push(msg);
      return fake.answerAck(msg);
    }
    fake.invoked.push([channel, msg]);
    return fake.answer(msg);
  },
  on(channel, l) {
    if (!listeners.has(channel)) listeners.set(channel, new Set());
    listeners.get(channel).add(l);
  },
  removeListener(channel, l) {
    listeners.get(channel)?.delete(l);
  },
};
