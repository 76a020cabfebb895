/** A POSIX shell identifier: what every runtime and every backend can carry. */
export const VARIABLE_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$";
