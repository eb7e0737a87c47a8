package io.pisync.http;

import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import java.util.ArrayList;
import java.util.List;

/**
 * Every API route of PiSync, declared by the features in one list. The server installs them all the
 * same way, so cross-cutting rules (authentication, rate limits) are added in one place.
 */
public final class Routes {
  /** One route: method, path template (Javalin syntax) and handler. */
  public record Route(HandlerType method, String path, Handler handler) {}

  private final List<Route> routes = new ArrayList<>();

  public Routes get(String path, Handler handler) {
    routes.add(new Route(HandlerType.GET, path, handler));
    return this;
  }

  public Routes post(String path, Handler handler) {
    routes.add(new Route(HandlerType.POST, path, handler));
    return this;
  }

  public List<Route> all() {
    return List.copyOf(routes);
  }
}
