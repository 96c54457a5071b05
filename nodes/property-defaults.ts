/**
 * What each node uses for a property its saved settings lack (a flow written by hand, or saved by a version before
 * the property existed): the runtime's defaults. The editor's `defaults` (nodes/*.html) are the same values, and its
 * dialogs show them for a missing property (test/unit/property-defaults.test.ts keeps the two in step). Name and
 * PBX have no default.
 */
import { DEFAULT_TECH } from "./lib/input/dial-input";
import { RESUME_MAX_AGE_MINUTES } from "./lib/poll/resume-file";

export const PROPERTY_DEFAULTS = {
  "noojee-config": {
    host: "",
    verifyTls: true,
    authMode: "apiKey",
    resumeAfterRestart: true,
    resumeMaxAge: RESUME_MAX_AGE_MINUTES.default,
    resumeStore: "",
    country: "",
    phonebookContext: "",
    phonebookContextType: "global",
    phonebookFile: "",
    replicas: false,
    redisKeyPrefix: "noojee",
  },
  "noojee-subscribe": { extensions: "", timeout: 30, outputMode: "events", persistChanges: false },
  "noojee-presence": { extensions: "", queryOutput: "each", contextScope: "", contextKey: "noojee.presence", contextStore: "", persistChanges: false },
  "noojee-answer": { extension: "", answerString: "" },
  "noojee-dial": {
    extension: "",
    tech: DEFAULT_TECH,
    number: "",
    autoAnswer: "",
    callerId: "",
    phoneCaption: "",
    tag: "",
    monitored: true,
    record: false,
  },
  "noojee-hangup": { by: "call", extension: "" },
  "noojee-record": { action: "start", by: "call", extension: "", tag: "", agentLoginName: "" },
} as const;
