package io.pisync.auth;

import java.util.Locale;
import java.util.Optional;

/** What a person may do. Each role includes everything the roles below it may do. */
public enum Role {
  VIEWER,
  OPERATOR,
  ADMIN;

  public boolean atLeast(Role other) {
    return compareTo(other) >= 0;
  }

  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Optional<Role> parse(String text) {
    for (Role role : values()) {
      if (role.wire().equals(text)) return Optional.of(role);
    }
    return Optional.empty();
  }
}
