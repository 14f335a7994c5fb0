// What the pages do around each action: clear the last note, run it, reload what it changed,
// and say what happened once the figures it speaks of are fresh — or why it was refused.
import { useState } from "preact/hooks";

/// `{ note, error, setError, act }`: `act(f)` wraps `f` (which returns the note) so that it
/// reloads with `load` after success and after a refusal; `say(e)` words a refusal.
export function useAct(load, say) {
  const [note, setNote] = useState(null);
  const [error, setError] = useState(null);
  const act = (f) => async (...a) => {
    setError(null);
    setNote(null);
    try {
      const said = await f(...a);
      await load();
      setNote(said);
    } catch (e) {
      setError(say(e));
      await load().catch(() => {});
    }
  };
  return { note, error, setError, act };
}
