package io.pisync.http;

import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.pisync.auth.Access;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Every route of PiSync, declared by the features in one list with who may call it. The server
 * installs them all the same way, so authentication and rate limits apply in one place.
 */
public final class Routes {
  /** One route: method, path template (Javalin syntax), who may call it, and handler. */
  public record Route(HandlerType method, String path, Access access, Handler handler) {}

  private final List<Route> routes = new ArrayList<>();

  public Routes get(String path, Access access, Handler handler) {
    return add(HandlerType.GET, path, access, handler);
  }

  public Routes post(String path, Access access, Handler handler) {
    return add(HandlerType.POST, path, access, handler);
  }

  public Routes put(String path, Access access, Handler handler) {
    return add(HandlerType.PUT, path, access, handler);
  }

  public Routes patch(String path, Access access, Handler handler) {
    return add(HandlerType.PATCH, path, access, handler);
  }

  public Routes delete(String path, Access access, Handler handler) {
    return add(HandlerType.DELETE, path, access, handler);
  }

  private Routes add(HandlerType method, String path, Access access, Handler handler) {
    routes.add(new Route(method, path, access, handler));
    return this;
  }

  public List<Route> all() {
    return List.copyOf(routes);
  }

  /** The methods answered at {@code path} (HEAD with GET), for a 405's {@code Allow} header. */
  public List<String> methodsAt(String path) {
    // the router ignores a trailing slash, so must this
    if (path.length() > 1 && path.endsWith("/")) path = path.substring(0, path.length() - 1);
    String[] parts = path.split("/", -1);
    var methods = new TreeSet<String>();
    for (Route route : routes) {
      if (matches(route.path().split("/", -1), parts)) {
        methods.add(route.method().name());
        if (route.method() == HandlerType.GET) methods.add("HEAD");
      }
    }
    return List.copyOf(methods);
  }

  private static boolean matches(String[] template, String[] parts) {
    if (template.length != parts.length) return false;
    for (int i = 0; i < template.length; i++) {
      boolean parameter = template[i].startsWith("{") && template[i].endsWith("}");
      if (parameter ? parts[i].isEmpty() : !template[i].equals(parts[i])) return false;
    }
    return true;
  }
}
