package io.pisync.server;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pisync.auth.Accounts;
import io.pisync.auth.CredentialCache;
import io.pisync.auth.DeviceKeys;
import io.pisync.auth.DeviceRegistration;
import io.pisync.auth.Role;
import io.pisync.auth.Secrets;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.jdbi.v3.core.Jdbi;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code pisync user ...} and {@code pisync device ...}: administration from the command line, on
 * the same database as the server (a running server's embedded database is joined, not restarted).
 * Exit codes: 0 done, 1 refused (exists, not found, last admin), 2 bad input.
 */
final class AdminCommands {
  private AdminCommands() {}

  /** The stores, over the configured database, for one command. */
  record Stores(Accounts accounts, DeviceKeys devices) {}

  static int run(Function<Stores, Integer> command) {
    Config config;
    try {
      config = Config.fromEnvironment();
    } catch (Config.InvalidConfigException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    try (Database db = Database.openForAdministration(config, new SimpleMeterRegistry())) {
      Jdbi jdbi = Jdbi.create(db.dataSource());
      var s = config.security();
      return command.apply(
          new Stores(
              new Accounts(
                  jdbi,
                  InstantSource.system(),
                  s.loginMaxFailures(),
                  s.loginLockDuration(),
                  CredentialCache.off()),
              new DeviceKeys(
                  jdbi, InstantSource.system(), s.keyGracePeriod(), CredentialCache.off())));
    } catch (RuntimeException e) {
      System.err.println("pisync: " + e.getMessage());
      return 1;
    }
  }

  /** A password from standard input when asked, else a new random one shown once. */
  static String password(boolean fromStdin) {
    if (!fromStdin) return Secrets.generate("").substring(0, 24);
    try {
      var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String line = in.readLine();
      return line == null ? "" : line.strip();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static int fail(String message) {
    System.err.println("pisync: " + message);
    return 1;
  }

  @Command(
      name = "user",
      description = "Manage admin accounts.",
      mixinStandardHelpOptions = true,
      subcommands = {
        UserAdd.class,
        UserList.class,
        UserSetRole.class,
        UserSetPassword.class,
        UserRemove.class
      })
  static final class User implements Runnable {
    @Override
    public void run() {
      new picocli.CommandLine(this).usage(System.out);
    }
  }

  @Command(
      name = "add",
      description = "Create an account (password generated unless --password-stdin).")
  static final class UserAdd implements Callable<Integer> {
    @Parameters(index = "0", description = "account name")
    String username;

    @Option(names = "--role", required = true, description = "admin, operator or viewer")
    String role;

    @Option(names = "--password-stdin", description = "read the password from standard input")
    boolean passwordStdin;

    @Override
    public Integer call() {
      var parsedRole = Role.parse(role);
      if (parsedRole.isEmpty()) return usage("--role must be admin, operator or viewer");
      boolean generated = !passwordStdin;
      String password = password(passwordStdin);
      var problems = Accounts.problems(username, password);
      if (!problems.isEmpty()) {
        return usage(problems.getFirst().field() + " " + problems.getFirst().message());
      }
      return run(s -> {
        if (!s.accounts().create(username, password, parsedRole.get())) {
          return fail("an account named '" + username + "' already exists");
        }
        System.out.println("created " + parsedRole.get().wire() + " '" + username + "'");
        if (generated) System.out.println("password (shown once): " + password);
        return 0;
      });
    }
  }

  @Command(name = "list", description = "List accounts.")
  static final class UserList implements Callable<Integer> {
    @Override
    public Integer call() {
      return run(s -> {
        System.out.printf("%-32s %-9s %s%n", "USERNAME", "ROLE", "CREATED");
        for (var a : s.accounts().list()) {
          System.out.printf("%-32s %-9s %s%n", a.username(), a.role().wire(), a.createdAt());
        }
        return 0;
      });
    }
  }

  @Command(name = "set-role", description = "Change an account's role (applies at once).")
  static final class UserSetRole implements Callable<Integer> {
    @Parameters(index = "0")
    String username;

    @Parameters(index = "1", description = "admin, operator or viewer")
    String role;

    @Override
    public Integer call() {
      var parsedRole = Role.parse(role);
      if (parsedRole.isEmpty()) return usage("the role must be admin, operator or viewer");
      return run(s -> change(s.accounts().setRole(username, parsedRole.get()), username));
    }
  }

  @Command(name = "set-password", description = "Set a new password; signs the account out.")
  static final class UserSetPassword implements Callable<Integer> {
    @Parameters(index = "0")
    String username;

    @Option(names = "--password-stdin", description = "read the password from standard input")
    boolean passwordStdin;

    @Override
    public Integer call() {
      String password = password(passwordStdin);
      if (!Accounts.passwordProblems(password).isEmpty()) {
        return usage("the password must be 12-1024 characters");
      }
      return run(s -> {
        if (!s.accounts().setPassword(username, password)) {
          return fail("no account named '" + username + "'");
        }
        System.out.println("password of '" + username + "' changed");
        if (!passwordStdin) System.out.println("password (shown once): " + password);
        return 0;
      });
    }
  }

  @Command(name = "remove", description = "Delete an account.")
  static final class UserRemove implements Callable<Integer> {
    @Parameters(index = "0")
    String username;

    @Override
    public Integer call() {
      return run(s -> change(s.accounts().delete(username), username));
    }
  }

  private static int change(Accounts.Change change, String username) {
    return switch (change) {
      case DONE -> {
        System.out.println("done: " + username);
        yield 0;
      }
      case NO_SUCH_ACCOUNT -> fail("no account named '" + username + "'");
      case LAST_ADMIN -> fail("'" + username + "' is the last admin; make another admin first");
    };
  }

  static int usage(String message) {
    System.err.println("pisync: " + message);
    return 2;
  }

  @Command(
      name = "device",
      description = "Register devices and manage their keys.",
      mixinStandardHelpOptions = true,
      subcommands = {DeviceAdd.class, DeviceList.class, DeviceRotate.class, DeviceRevoke.class})
  static final class Device implements Runnable {
    @Override
    public void run() {
      new picocli.CommandLine(this).usage(System.out);
    }
  }

  @Command(name = "add", description = "Register a device and print its key (shown once).")
  static final class DeviceAdd implements Callable<Integer> {
    @Parameters(index = "0", description = "device id")
    String deviceId;

    @Option(names = "--type", required = true, description = "PiBook or PiBox")
    String type;

    @Option(names = "--group", required = true, description = "school, class...")
    String group;

    @Option(names = "--label", description = "name=value (repeatable)")
    Map<String, String> labels = new LinkedHashMap<>();

    @Override
    public Integer call() {
      var problems = DeviceRegistration.problems(deviceId, type, group, labels);
      if (!problems.isEmpty()) {
        return usage(problems.getFirst().field() + " " + problems.getFirst().message());
      }
      var registration = new DeviceRegistration(deviceId, type, group, labels);
      return run(s ->
          switch (s.devices().register(registration, "cli")) {
            case DeviceKeys.Registered.Issued issued -> {
              System.out.println("registered " + deviceId);
              System.out.println("api key (shown once): " + issued.apiKey());
              yield 0;
            }
            case DeviceKeys.Registered.AlreadyRegistered already ->
                fail("device '" + deviceId + "' is already registered; rotate its key");
          });
    }
  }

  @Command(name = "list", description = "List registered devices.")
  static final class DeviceList implements Callable<Integer> {
    @Override
    public Integer call() {
      return run(s -> {
        System.out.printf("%-32s %-7s %-24s %s%n", "DEVICE", "TYPE", "GROUP", "ACTIVE KEYS");
        String after = null;
        while (true) {
          var page = s.devices().list(after, 1000);
          for (var d : page) {
            System.out.printf(
                "%-32s %-7s %-24s %d%n", d.deviceId(), d.type(), d.group(), d.activeKeys());
          }
          if (page.size() < 1000) return 0;
          after = page.getLast().deviceId();
        }
      });
    }
  }

  @Command(name = "rotate", description = "Issue a new key; old keys work for the grace period.")
  static final class DeviceRotate implements Callable<Integer> {
    @Parameters(index = "0")
    String deviceId;

    @Override
    public Integer call() {
      return run(s ->
          s.devices()
              .rotate(deviceId)
              .map(r -> {
                System.out.println("api key (shown once): " + r.apiKey());
                System.out.println("old keys valid until " + r.previousKeysValidUntil());
                return 0;
              })
              .orElseGet(() -> fail("device '" + deviceId + "' is not registered")));
    }
  }

  @Command(name = "revoke", description = "Revoke every key of a device, at once.")
  static final class DeviceRevoke implements Callable<Integer> {
    @Parameters(index = "0")
    String deviceId;

    @Override
    public Integer call() {
      return run(s -> {
        if (!s.devices().revoke(deviceId)) {
          return fail("device '" + deviceId + "' is not registered");
        }
        System.out.println("revoked every key of " + deviceId);
        return 0;
      });
    }
  }
}
