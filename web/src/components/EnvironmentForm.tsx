import { useState } from "react";
import {
  ApiFailure,
  api,
  type Environment,
  type Installation,
  RUNTIME_LABEL,
  RUNTIMES,
  type Runtime,
} from "../api";
import { ABSOLUTE_PATH, IMAGE_NAME } from "../patterns";
import { Dialog } from "./Dialog";
import { InstallationDialog } from "./InstallationDialog";

const MATCHING = [
  ["any", "Any: Slipway may select it automatically for content that fits."],
  ["exact", "Exact: only content that asks for this image or environment uses it."],
  ["none", "None: disabled; nothing can use it."],
] as const;

type Fields = {
  name: string;
  title: string;
  description: string;
  supervisor: string;
  matching: Environment["matching"];
  installations: Record<Runtime, Installation[]>;
};

function fieldsOf(environment?: Environment): Fields {
  return {
    name: environment?.name ?? "",
    title: environment?.title ?? "",
    description: environment?.description ?? "",
    supervisor: environment?.supervisor ?? "",
    matching: environment?.matching ?? "any",
    installations: {
      python: environment?.python?.installations ?? [],
      r: environment?.r?.installations ?? [],
      quarto: environment?.quarto?.installations ?? [],
    },
  };
}

/** Add or edit an environment; the API's own error is shown next to the field it names. */
export function EnvironmentForm(props: {
  environment?: Environment;
  onSaved(environment: Environment): void;
  onClose(): void;
}) {
  const [fields, setFields] = useState(fieldsOf(props.environment));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [adding, setAdding] = useState<Runtime | null>(null);
  const editing = Boolean(props.environment);

  const check = (): Record<string, string> => {
    const found: Record<string, string> = {};
    if (!fields.name.trim()) found.name = "The container image name is required.";
    else if (!editing && !IMAGE_NAME.test(fields.name.trim()))
      found.name = "A container image name such as ghcr.io/org/image:tag.";
    if (fields.supervisor && !ABSOLUTE_PATH.test(fields.supervisor))
      found.supervisor = "An absolute path, such as /scripts/supervise.sh.";
    return found;
  };

  const save = async () => {
    const local = check();
    setErrors(local);
    if (Object.keys(local).length > 0) return;
    const body = {
      ...(editing ? {} : { name: fields.name.trim() }),
      title: fields.title || null,
      description: fields.description || null,
      supervisor: fields.supervisor || null,
      matching: fields.matching,
      ...Object.fromEntries(
        RUNTIMES.map((r) => [
          r,
          fields.installations[r].length > 0 ? { installations: fields.installations[r] } : null,
        ]),
      ),
    };
    try {
      const saved = editing
        ? await api<Environment>("PUT", `/v1/environments/${props.environment!.guid}`, body)
        : await api<Environment>("POST", "/v1/environments", body);
      props.onSaved(saved);
    } catch (error) {
      if (!(error instanceof ApiFailure)) throw error;
      const field = error.body.payload?.field ?? (error.body.code === 175 ? "name" : "form");
      setErrors({ [field.split(".")[0]!]: error.body.error });
    }
  };

  const error = (field: string) => (
    <p id={`${field}-error`} className="field-error" role={errors[field] ? "alert" : undefined}>
      {errors[field] ?? ""}
    </p>
  );

  return (
    <Dialog
      title={editing ? `Edit ${props.environment!.name}` : "Add environment"}
      onClose={props.onClose}
    >
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <label>
          Image
          <input
            name="name"
            value={fields.name}
            disabled={editing}
            onChange={(e) => setFields({ ...fields, name: e.target.value })}
            aria-invalid={!!errors.name}
            aria-describedby="name-error"
          />
        </label>
        {error("name")}
        <label>
          Title
          <input
            name="title"
            value={fields.title}
            onChange={(e) => setFields({ ...fields, title: e.target.value })}
            aria-invalid={!!errors.title}
            aria-describedby="title-error"
          />
        </label>
        {error("title")}
        <label>
          Description
          <textarea
            name="description"
            value={fields.description}
            onChange={(e) => setFields({ ...fields, description: e.target.value })}
            aria-invalid={!!errors.description}
            aria-describedby="description-error"
          />
        </label>
        {error("description")}
        <label>
          Supervisor
          <input
            name="supervisor"
            value={fields.supervisor}
            placeholder="/scripts/supervise.sh"
            onChange={(e) => setFields({ ...fields, supervisor: e.target.value })}
            aria-invalid={!!errors.supervisor}
            aria-describedby="supervisor-error"
          />
        </label>
        {error("supervisor")}
        <fieldset>
          <legend>Matching</legend>
          {MATCHING.map(([value, help]) => (
            <label key={value} className="radio">
              <input
                type="radio"
                name="matching"
                value={value}
                checked={fields.matching === value}
                onChange={() => setFields({ ...fields, matching: value })}
              />
              {help}
            </label>
          ))}
        </fieldset>
        {error("matching")}
        {RUNTIMES.map((runtime) => (
          <fieldset key={runtime}>
            <legend>{RUNTIME_LABEL[runtime]} installations</legend>
            <ul className="installations">
              {fields.installations[runtime].map((installation, i) => (
                <li key={`${installation.version}-${installation.path}`}>
                  <span className="mono">
                    {installation.version} — {installation.path}
                  </span>
                  <button
                    type="button"
                    aria-label={`Remove ${RUNTIME_LABEL[runtime]} ${installation.version}`}
                    onClick={() =>
                      setFields({
                        ...fields,
                        installations: {
                          ...fields.installations,
                          [runtime]: fields.installations[runtime].filter((_, j) => j !== i),
                        },
                      })
                    }
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ul>
            <button type="button" onClick={() => setAdding(runtime)}>
              Add {RUNTIME_LABEL[runtime]} installation
            </button>
            {error(runtime)}
          </fieldset>
        ))}
        {error("form")}
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="primary">
            {editing ? "Save changes" : "Add environment"}
          </button>
        </div>
      </form>
      {adding && (
        <InstallationDialog
          runtime={adding}
          onClose={() => setAdding(null)}
          onAdd={(installation) => {
            setFields({
              ...fields,
              installations: {
                ...fields.installations,
                [adding]: [...fields.installations[adding], installation],
              },
            });
            setAdding(null);
          }}
        />
      )}
    </Dialog>
  );
}
