import { describe, expect, it } from "vitest";
import { ReplicaLag } from "./replica-lag.js";

/** A leader's heartbeat counter and the replica's copy of it, and a clock the test moves. */
function fakes() {
  const state = { leader: 0n, replica: 0n, streaming: true, leaderUp: true, replicaUp: true, now: 0, beats: 0 };
  const heartbeat = {
    beat: async () => {
      if (!state.leaderUp) throw new Error("leader down");
      state.beats += 1;
      state.leader += 1n;
      if (state.streaming) state.replica = state.leader;
      return state.leader;
    },
    seen: async () => {
      if (!state.replicaUp) throw new Error("replica down");
      return state.replica;
    },
  };
  const lag = new ReplicaLag(heartbeat, 5000, () => state.now);
  const probeAt = async (seconds: number) => {
    state.now = seconds * 1000;
    await lag.probe();
  };
  return { state, lag, probeAt };
}

describe("ReplicaLag", () => {
  it("is unknown, and not fresh, before the first probe", () => {
    const { lag } = fakes();
    expect(lag.seconds).toBeUndefined();
    expect(lag.freshLag()).toBeUndefined();
  });

  it("is 0 while the replica shows every beat", async () => {
    const { lag, probeAt } = fakes();
    for (let second = 0; second < 5; second++) await probeAt(second);
    expect(lag.seconds).toBe(0);
    expect(lag.freshLag()).toBe(0);
  });

  it("grows from the first beat the replica misses once streaming stops, past the bound, and drops back when it resumes", async () => {
    const { state, lag, probeAt } = fakes();
    await probeAt(0);
    state.streaming = false;
    await probeAt(1);
    await probeAt(2);
    await probeAt(5);
    expect(lag.seconds).toBe(4);
    expect(lag.freshLag()).toBe(4);
    await probeAt(7);
    expect(lag.seconds).toBe(6);
    expect(lag.freshLag()).toBeUndefined();
    state.streaming = true;
    await probeAt(8);
    expect(lag.seconds).toBe(0);
    expect(lag.freshLag()).toBe(0);
  });

  it("is unknown while the replica cannot be read, and measured again when it can", async () => {
    const { state, lag, probeAt } = fakes();
    await probeAt(0);
    state.replicaUp = false;
    await probeAt(1);
    expect(lag.seconds).toBeUndefined();
    expect(lag.freshLag()).toBeUndefined();
    state.replicaUp = true;
    await probeAt(2);
    expect(lag.seconds).toBe(0);
  });

  it("with the leader down, is the age of the beats the replica misses: 0 if it has them all", async () => {
    const { state, lag, probeAt } = fakes();
    await probeAt(0);
    state.leaderUp = false;
    await probeAt(10);
    expect(lag.seconds).toBe(0);

    state.leaderUp = true;
    state.streaming = false;
    await probeAt(11);
    state.leaderUp = false;
    await probeAt(20);
    expect(lag.seconds).toBe(9);
  });

  it("runs one probe at a time: a probe asked for during another waits for it", async () => {
    const { state, lag } = fakes();
    await Promise.all([lag.probe(), lag.probe(), lag.probe()]);
    expect(state.beats).toBe(1);
  });
});
