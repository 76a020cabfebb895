/** Form checks with the very patterns the server validates against, so both say the same. */
import { CONTENT_NAME_PATTERN } from "../../src/content/model";
import { VARIABLE_NAME_PATTERN } from "../../src/content/variable-names";
import {
  ABSOLUTE_PATH_PATTERN,
  IMAGE_NAME_PATTERN,
  VERSION_PATTERN,
} from "../../src/environments/model";

export const VERSION = new RegExp(VERSION_PATTERN);
export const ABSOLUTE_PATH = new RegExp(ABSOLUTE_PATH_PATTERN);
export const IMAGE_NAME = new RegExp(IMAGE_NAME_PATTERN);
export const CONTENT_NAME = new RegExp(CONTENT_NAME_PATTERN);
export const VARIABLE_NAME = new RegExp(VARIABLE_NAME_PATTERN);
