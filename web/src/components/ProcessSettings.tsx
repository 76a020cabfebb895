import { useState } from "react";
import { Content as ContentSchema } from "../../../src/content/model";
import { ApiFailure, api, type Content, type ContentDefaults, describeFailure } from "../api";

type Field =
  | "min_processes"
  | "max_processes"
  | "max_conns_per_process"
  | "load_factor"
  | "idle_timeout"
  | "init_timeout"
  | "connection_timeout"
  | "read_timeout"
  | "memory_limit"
  | "memory_request"
  | "cpu_limit"
  | "cpu_request"
  | "nvidia_gpu_limit"
  | "amd_gpu_limit";

const PROCESS: Array<[Field, string, string]> = [
  ["min_processes", "Min processes", ""],
  ["max_processes", "Max processes", ""],
  ["max_conns_per_process", "Max connections per process", ""],
  ["load_factor", "Load factor", "from 0 to 1"],
  ["idle_timeout", "Idle timeout", "seconds"],
  ["init_timeout", "Initial timeout", "seconds"],
  ["connection_timeout", "Connection timeout", "seconds, 0: never"],
  ["read_timeout", "Read timeout", "seconds, 0: never"],
];
const RESOURCES: Array<[Field, string, string]> = [
  ["memory_limit", "Memory limit", "bytes"],
  ["memory_request", "Memory request", "bytes"],
  ["cpu_limit", "CPU limit", "cores"],
  ["cpu_request", "CPU request", "cores"],
  ["nvidia_gpu_limit", "NVIDIA GPUs", ""],
  ["amd_gpu_limit", "AMD GPUs", ""],
];

/** The server's own bounds for a field, read from the schema that validates the PATCH. */
function bounds(field: Field) {
  const schema = ContentSchema.properties[field].anyOf[0] as {
    type: string;
    minimum: number;
    maximum: number;
  };
  return { integer: schema.type === "integer", minimum: schema.minimum, maximum: schema.maximum };
}

function problem(field: Field, text: string, defaults: ContentDefaults): string {
  if (text.trim() === "") return "";
  const value = Number(text);
  const b = bounds(field);
  if (!Number.isFinite(value)) return "Enter a number, or leave it empty for the server's default.";
  if (b.integer && !Number.isInteger(value)) return "Enter a whole number.";
  if (value < b.minimum || value > b.maximum)
    return `Enter a number from ${b.minimum} to ${b.maximum}.`;
  if (
    (field === "min_processes" || field === "max_processes") &&
    value > defaults.max_processes_limit
  )
    return `At most ${defaults.max_processes_limit}, the server's limit.`;
  return "";
}

function defaultOf(field: Field, defaults: ContentDefaults): string {
  const value = (defaults as unknown as Record<string, number | undefined>)[field];
  return value === undefined ? "none (no limit or reservation)" : String(value);
}

const text = (value: number | null) => (value === null ? "" : String(value));

/** Process and resource settings, each empty for the server's default, which is shown. */
export function ProcessSettings(props: {
  content: Content;
  defaults: ContentDefaults;
  canEdit: boolean;
  onSaved(content: Content): void;
}) {
  const initial = () =>
    Object.fromEntries(
      [...PROCESS, ...RESOURCES].map(([f]) => [f, text(props.content[f])]),
    ) as Record<Field, string>;
  const [values, setValues] = useState(initial);
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [message, setMessage] = useState("");
  const changed = (Object.keys(values) as Field[]).filter(
    (f) => values[f] !== text(props.content[f]),
  );

  const input = ([field, label, unit]: [Field, string, string]) => {
    const id = `setting-${field}`;
    const enforced =
      !RESOURCES.some(([f]) => f === field) || props.defaults.enforced_resources.includes(field);
    return (
      <div key={field} className="setting">
        <label htmlFor={id}>
          {label}
          {unit && <span className="unit"> ({unit})</span>}
        </label>
        <input
          id={id}
          name={field}
          inputMode="decimal"
          value={values[field]}
          readOnly={!props.canEdit}
          placeholder={`default: ${defaultOf(field, props.defaults)}`}
          onChange={(e) => setValues({ ...values, [field]: e.target.value })}
          aria-invalid={!!errors[field]}
          aria-describedby={`${id}-help ${id}-error`}
        />
        <p id={`${id}-help`} className="help">
          Server default: {defaultOf(field, props.defaults)}
          {field === "min_processes" || field === "max_processes"
            ? `; at most ${props.defaults.max_processes_limit}`
            : ""}
          {enforced ? "" : `; the ${props.defaults.backend} runner cannot enforce this`}
        </p>
        <p id={`${id}-error`} className="field-error">
          {errors[field] ?? ""}
        </p>
      </div>
    );
  };

  return (
    <form
      aria-labelledby="processes-heading"
      onSubmit={async (event) => {
        event.preventDefault();
        const found: Partial<Record<Field, string>> = {};
        for (const f of changed) {
          const p = problem(f, values[f], props.defaults);
          if (p) found[f] = p;
        }
        setErrors(found);
        setMessage("");
        if (Object.keys(found).length > 0) return;
        try {
          const saved = await api<Content>(
            "PATCH",
            `/v1/content/${props.content.guid}`,
            Object.fromEntries(
              changed.map((f) => [f, values[f].trim() === "" ? null : Number(values[f])]),
            ),
          );
          props.onSaved(saved);
          setMessage("Saved. Running processes follow the new settings.");
        } catch (error) {
          const field = error instanceof ApiFailure ? error.body.payload?.field : undefined;
          if (field && field in values) setErrors({ [field]: describeFailure(error) });
          else setMessage(describeFailure(error));
        }
      }}
    >
      <h3 id="processes-heading">Processes</h3>
      <div className="settings">{PROCESS.map(input)}</div>
      <h3>Resources</h3>
      <div className="settings">{RESOURCES.map(input)}</div>
      {props.canEdit && (
        <button type="submit" className="primary" disabled={changed.length === 0}>
          Save process settings
        </button>
      )}
      <p role="status">{message}</p>
    </form>
  );
}
