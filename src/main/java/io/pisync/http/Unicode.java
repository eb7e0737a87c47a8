package io.pisync.http;

/** Checks text decoded from JSON escapes, which can name UTF-16 halves no UTF-8 can hold. */
public final class Unicode {
  private Unicode() {}

  /** A lone {@code \ud800} cannot be stored as UTF-8; it would come back as '?'. */
  public static boolean hasUnpairedSurrogate(String text) {
    for (int i = 0; i < text.length(); i++) {
      char ch = text.charAt(i);
      if (Character.isHighSurrogate(ch)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(ch)) {
        return true;
      }
    }
    return false;
  }
}
