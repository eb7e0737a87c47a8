package io.pisync.sync;

import java.util.regex.Pattern;

/** The shapes of names in record sync, checked wherever a name comes in. */
public final class SyncIds {
  /** Scopes, record ids and mutation ids: 1-128 of {@code A-Z a-z 0-9 . _ : -}. */
  public static final Pattern ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  public static final String ID_RULE = "must be 1-128 characters of A-Z a-z 0-9 . _ : -";

  /** Collections: a lower-case letter, then up to 63 of {@code a-z 0-9 _}. */
  public static final Pattern COLLECTION = Pattern.compile("[a-z][a-z0-9_]{0,63}");

  public static final String COLLECTION_RULE =
      "must be a lower-case letter followed by up to 63 of a-z 0-9 _";

  private SyncIds() {}

  public static boolean isId(String text) {
    return text != null && ID.matcher(text).matches();
  }

  public static boolean isCollection(String text) {
    return text != null && COLLECTION.matcher(text).matches();
  }
}
