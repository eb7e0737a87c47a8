package io.pisync.http;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.function.Predicate;

/**
 * An opaque pagination cursor: the sort key of the last item of a page, as base64url text. Clients
 * must not build or read them; a cursor that does not decode is a 400, never a 500.
 */
public final class Cursor {
  private static final char SEPARATOR = '\u001f';

  private Cursor() {}

  public static String encode(String... parts) {
    String joined = String.join(String.valueOf(SEPARATOR), parts);
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(joined.getBytes(StandardCharsets.UTF_8));
  }

  /** Decodes a cursor made of {@code expectedParts} parts, or throws a 400 problem. */
  public static List<String> decode(String cursor, int expectedParts) {
    try {
      String joined = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
      List<String> parts = List.of(joined.split(String.valueOf(SEPARATOR), -1));
      if (parts.size() != expectedParts || parts.stream().anyMatch(Cursor::hasControlChars)) {
        throw badCursor(cursor);
      }
      // bytes that are not UTF-8, or base64 this server does not write (padding), read back
      // differently
      requireIssued(cursor, parts.toArray(String[]::new));
      return parts;
    } catch (IllegalArgumentException e) {
      throw badCursor(cursor);
    }
  }

  /**
   * Throws a 400 problem unless {@code cursor} is exactly what {@link #encode} makes of the values
   * read from it: a cursor the server issued reads back to itself, while '+5', other scripts'
   * digits, a UUID written loosely or bytes that are not UTF-8 do not.
   */
  public static void requireIssued(String cursor, String... parts) {
    if (!encode(parts).equals(cursor)) throw badCursor(cursor);
  }

  /** Decodes a one-part cursor whose part must pass {@code valid}, or throws a 400 problem. */
  public static String decodeOne(String cursor, Predicate<String> valid) {
    String part = decode(cursor, 1).getFirst();
    if (!valid.test(part)) throw badCursor(cursor);
    return part;
  }

  static boolean hasControlChars(String text) {
    return text.chars().anyMatch(ch -> ch < 0x20 || ch == 0x7f);
  }

  public static ApiProblem badCursor(String cursor) {
    return new ApiProblem(
        ProblemType.BAD_CURSOR,
        "cursor '" + cursor + "' is not a cursor this server issued",
        List.of(new FieldError("cursor", cursor, "not a cursor this server issued")),
        java.util.Map.of());
  }
}
