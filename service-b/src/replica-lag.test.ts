import { describe, expect, it } from "vitest";
import { ReplicaLag } from "./replica-lag.js";

/**
 * A leader's heartbeat counter, which other instances bump too (by 2 between this one's beats), a
 * standby's copy of it, and a clock the test moves.
 */
function fakes() {
  const state = { leader: 0n, standby: 0n, streaming: true, leaderAnswers: "yes" as "yes" | "error" | "never", now: 0 };
  let beatsSent = 0;
  const beatOnLeader = async () => {
    beatsSent += 1;
    if (state.leaderAnswers === "error") throw new Error("leader down");
    if (state.leaderAnswers === "never") return new Promise<bigint>(() => {});
    state.leader += 2n;
    if (state.streaming) state.standby = state.leader;
    return state.leader;
  };
  const lag = new ReplicaLag(beatOnLeader, 5000, () => state.now);
  /** One beat at `seconds`, and the lag of the standby's heartbeat then. */
  const beatAt = async (seconds: number) => {
    state.now = seconds * 1000;
    await lag.beat().catch(() => {});
  };
  const standbyLagAt = (seconds: number) => {
    state.now = seconds * 1000;
    return { lag: lag.lagOf(state.standby), fresh: lag.freshLag(state.standby) };
  };
  return { state, lag, beatAt, standbyLagAt, beatsSent: () => beatsSent };
}

describe("ReplicaLag", () => {
  it("takes a standby that shows none of this instance's beats as behind them all: never fresh", async () => {
    const { lag, beatAt } = fakes();
    expect(lag.lagOf(100n)).toBe(Number.POSITIVE_INFINITY);
    await beatAt(0);
    expect(lag.lagOf(1n)).toBe(Number.POSITIVE_INFINITY);
    expect(lag.freshLag(1n)).toBeUndefined();
  });

  it("is the time since the newest of this instance's beats the answering standby shows was sent", async () => {
    const { lag, beatAt, state } = fakes();
    for (const second of [0, 1, 2]) await beatAt(second);
    state.now = 2500;
    expect(lag.lagOf(6n)).toBe(0.5);
    // Another instance's beat (5) in between: the standby has this one's 4, sent at 1 s.
    expect(lag.lagOf(5n)).toBe(1.5);
    expect(lag.lagOf(2n)).toBe(2.5);
    expect(lag.freshLag(2n)).toBe(2.5);
  });

  it("grows while the standby's streaming is stopped, past the bound, and drops back when it resumes", async () => {
    const { state, beatAt, standbyLagAt } = fakes();
    await beatAt(0);
    state.streaming = false;
    for (let second = 1; second <= 7; second++) await beatAt(second);
    expect(standbyLagAt(5)).toEqual({ lag: 5, fresh: 5 });
    expect(standbyLagAt(7.5)).toEqual({ lag: 7.5, fresh: undefined });
    state.streaming = true;
    await beatAt(8);
    expect(standbyLagAt(8.25)).toEqual({ lag: 0.25, fresh: 0.25 });
  });

  it.each(["error", "never"] as const)(
    "grows while the leader's answer to beats is %s, though the standby shows every beat written: a silent leader is not an up-to-date replica",
    async (answer) => {
      const { state, beatAt, standbyLagAt } = fakes();
      await beatAt(0);
      state.leaderAnswers = answer;
      for (let second = 1; second <= 3; second++) void beatAt(second);
      expect(standbyLagAt(4)).toEqual({ lag: 4, fresh: 4 });
      expect(standbyLagAt(6)).toEqual({ lag: 6, fresh: undefined });
    },
  );

  it("writes one beat at a time: a beat asked for during another waits for it", async () => {
    const { lag, beatsSent } = fakes();
    await Promise.all([lag.beat(), lag.beat(), lag.beat()]);
    expect(beatsSent()).toBe(1);
  });
});
