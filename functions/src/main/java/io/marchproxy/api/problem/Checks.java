package io.marchproxy.api.problem;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** Collects every invalid field of a request, then fails once with all of them. */
public final class Checks {

  public static final Pattern NAME = Pattern.compile("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$");
  public static final String NAME_RULE =
      "must be 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit";

  private final List<FieldError> errors = new ArrayList<>();

  public Checks check(boolean ok, String field, String message) {
    if (!ok) {
      errors.add(new FieldError(field, message));
    }
    return this;
  }

  public boolean required(Object value, String field) {
    boolean present = value != null && !(value instanceof String s && s.isBlank());
    check(present, field, "is required");
    return present;
  }

  public Checks name(String value, String field) {
    if (required(value, field)) {
      check(NAME.matcher(value).matches(), field, NAME_RULE);
    }
    return this;
  }

  public Checks maxLength(String value, int max, String field) {
    return check(
        value == null || value.length() <= max, field, "must be at most " + max + " characters");
  }

  public Checks range(Integer value, int min, int max, String field) {
    return check(
        value == null || (value >= min && value <= max),
        field,
        "must be between " + min + " and " + max);
  }

  public Checks range(Long value, long min, long max, String field) {
    return check(
        value == null || (value >= min && value <= max),
        field,
        "must be between " + min + " and " + max);
  }

  public Checks maxItems(List<?> value, int max, String field) {
    return check(
        value == null || value.size() <= max, field, "must have at most " + max + " items");
  }

  public boolean ok() {
    return errors.isEmpty();
  }

  /** Throws a 400 listing every collected error, if there is any. */
  public void throwIfInvalid() {
    if (!errors.isEmpty()) {
      throw ApiException.invalid(errors);
    }
  }
}
