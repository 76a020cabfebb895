import { useState } from "react";
import { type Installation, RUNTIME_LABEL, type Runtime } from "../api";
import { ABSOLUTE_PATH, VERSION } from "../patterns";
import { Dialog } from "./Dialog";

export function InstallationDialog(props: {
  runtime: Runtime;
  onAdd(installation: Installation): void;
  onClose(): void;
}) {
  const [version, setVersion] = useState("");
  const [path, setPath] = useState("");
  const [touched, setTouched] = useState(false);
  const versionError = VERSION.test(version) ? "" : "A dotted numeric version, such as 3.11.3.";
  const pathError = ABSOLUTE_PATH.test(path)
    ? ""
    : "An absolute path to the executable, such as /opt/python/3.11.3/bin/python3.";
  const label = RUNTIME_LABEL[props.runtime];
  return (
    <Dialog title={`Add ${label} installation`} onClose={props.onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          setTouched(true);
          if (!versionError && !pathError) props.onAdd({ version, path });
        }}
      >
        <label>
          Version
          <input
            name="version"
            value={version}
            onChange={(e) => setVersion(e.target.value.trim())}
            aria-invalid={touched && !!versionError}
            aria-describedby="installation-version-error"
          />
        </label>
        <p id="installation-version-error" className="field-error">
          {touched ? versionError : ""}
        </p>
        <label>
          Path
          <input
            name="path"
            value={path}
            onChange={(e) => setPath(e.target.value.trim())}
            aria-invalid={touched && !!pathError}
            aria-describedby="installation-path-error"
          />
        </label>
        <p id="installation-path-error" className="field-error">
          {touched ? pathError : ""}
        </p>
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Add {label} installation
          </button>
        </div>
      </form>
    </Dialog>
  );
}
