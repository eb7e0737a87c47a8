package io.pisync.http;

import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.pisync.auth.Access;
import java.util.ArrayList;
import java.util.List;

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
}
