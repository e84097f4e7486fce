// opencode plugin for the copilot-api gateway.  Copy it to
// ~/.config/opencode/plugins/ (or a project's .opencode/plugins/).
//
// - A sub-session (one opencode creates with a parentID, for a subagent)
//   gets, in front of its first message, a synthetic text part holding
//   __SUBAGENT_MARKER__{session_id, agent_id, agent_type} in a
//   <system-reminder>: the gateway then sends that sub-session's requests
//   to Copilot as x-initiator: agent.
// - Every request carries x-session-id: the root session's id (a
//   sub-session's parent, else the session itself), so the gateway keeps
//   one interaction id per conversation.

const MARKER = "__SUBAGENT_MARKER__";

export const SubagentMarkerPlugin = async () => {
  const rootOf = new Map();     // session id -> id sent as x-session-id
  const pending = new Set();    // sub-sessions whose marker is not sent yet

  const sessionInfo = (event) => {
    const info = event?.properties?.info;
    return info && typeof info === "object" && typeof info.id === "string" ? info : null;
  };

  return {
    event: async ({ event }) => {
      const info = sessionInfo(event);
      if (!info) return;
      if (event.type === "session.created") {
        if (typeof info.parentID === "string" && info.parentID !== "") {
          rootOf.set(info.id, rootOf.get(info.parentID) ?? info.parentID);
          pending.add(info.id);
        } else {
          rootOf.set(info.id, info.id);
        }
      } else if (event.type === "session.deleted") {
        rootOf.delete(info.id);
        pending.delete(info.id);
      }
    },

    "chat.message": async (input, output) => {
      const session = input?.sessionID;
      const message = output?.message;
      if (!pending.has(session) || !message?.id || !message?.sessionID) return;
      const marker = MARKER + JSON.stringify({
        session_id: session,
        agent_id: session,
        agent_type: typeof input.agent === "string" && input.agent !== "" ? input.agent : "opencode-subagent",
      });
      const now = Date.now();
      output.parts.unshift({
        id: `prt-${message.id}-subagent-marker`,
        sessionID: message.sessionID,
        messageID: message.id,
        type: "text",
        text: `<system-reminder>\nSubagentStart hook additional context: ${marker}\n</system-reminder>`,
        synthetic: true,
        time: { start: now, end: now },
      });
      pending.delete(session);
    },

    "chat.headers": async (input, output) => {
      const root = rootOf.get(input?.sessionID);
      if (root) output.headers["x-session-id"] = root;
    },
  };
};
