package io.pisync.http;

import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import inet.ipaddr.IPAddressStringParameters;
import io.javalin.http.Context;
import java.util.Enumeration;
import java.util.List;

/**
 * Who is calling, by network address: what per-address rate limits, sign-in locks and the access
 * log use. Behind a reverse proxy every connection comes from the proxy, so one limit would be
 * shared by the whole fleet; a proxy listed as trusted is believed about the client it forwards for
 * ({@code X-Forwarded-For}; the RFC 7239 {@code Forwarded} header is not read), and nobody else is.
 * List only the proxies: an address in a trusted range is believed about what came before it, so a
 * range that holds clients lets them choose their own address.
 */
public final class ClientAddress {
  private final List<IPAddress> trusted;

  public ClientAddress(List<String> trustedProxies) {
    this.trusted = trustedProxies.stream().map(ClientAddress::parse).toList();
  }

  /** Whether {@code text} is an IP address or a CIDR range (not a host name). */
  public static boolean isAddressOrRange(String text) {
    return parse(text) != null;
  }

  /** Dotted quads and IPv6 only: not "1.2.3" (inet_aton's 1.2.0.3), not "*", not a name. */
  private static final IPAddressStringParameters LITERALS =
      new IPAddressStringParameters.Builder()
          .allow_inet_aton(false)
          .allowSingleSegment(false)
          .allowEmpty(false)
          .allowAll(false)
          .toParams();

  /** An address, or with a prefix length the whole block (10.0.0.1/8 is 10.0.0.0/8). */
  private static IPAddress parse(String text) {
    String literal = text.strip();
    if (literal.startsWith("[") && literal.endsWith("]")) {
      literal = literal.substring(1, literal.length() - 1);
    }
    var parsed = new IPAddressString(literal, LITERALS);
    return parsed.isIPAddress() ? parsed.getAddress().toPrefixBlock() : null;
  }

  /**
   * The connection's address, unless it is a trusted proxy: then the nearest address in {@code
   * X-Forwarded-For} that is not one (read from the right, as each proxy appends the address it
   * saw). A value that is not an address stops the walk at the last hop trusted so far.
   */
  public String of(Context ctx) {
    String peer = ctx.req().getRemoteAddr();
    if (trusted.isEmpty()) {
      return peer;
    }
    // Asked several times per request (limits, sign-in locks, the access log): walk once.
    String known = ctx.attribute(RESOLVED);
    if (known == null) {
      known = resolve(ctx, peer);
      ctx.attribute(RESOLVED, known);
    }
    return known;
  }

  private static final String RESOLVED = "pisync.client-address";

  private String resolve(Context ctx, String peer) {
    IPAddress peerAddress = parse(peer);
    if (peerAddress == null) {
      return peer;
    }
    // One spelling for one address, whether it came as the peer or forwarded (::1, not [0:...:1]).
    String client = peerAddress.toCanonicalString();
    if (!isTrusted(peerAddress)) {
      return client;
    }
    List<String> hops = forwardedFor(ctx);
    for (int i = hops.size() - 1; i >= 0; i--) {
      IPAddress hop = parseHop(hops.get(i));
      if (hop == null) {
        return client;
      }
      client = hop.toCanonicalString();
      if (!isTrusted(hop)) {
        return client;
      }
    }
    return client;
  }

  /**
   * One X-Forwarded-For entry: an address, possibly with a port as some proxies write it ({@code
   * 203.0.113.5:1234}, {@code [2001:db8::1]:443}); never a range.
   */
  private static IPAddress parseHop(String hop) {
    String text = hop.strip();
    if (text.startsWith("[") && text.indexOf(']') > 0) {
      text = text.substring(1, text.indexOf(']'));
    } else if (text.indexOf(':') > 0 && text.indexOf(':') == text.lastIndexOf(':')) {
      text = text.substring(0, text.indexOf(':')); // IPv4 with a port
    }
    return text.contains("/") ? null : parse(text);
  }

  private boolean isTrusted(IPAddress address) {
    if (address == null) return false;
    for (IPAddress range : trusted) {
      if (range.contains(address)) return true;
    }
    return false;
  }

  private static List<String> forwardedFor(Context ctx) {
    var hops = new java.util.ArrayList<String>();
    Enumeration<String> headers = ctx.req().getHeaders("X-Forwarded-For");
    while (headers != null && headers.hasMoreElements()) {
      for (String hop : headers.nextElement().split(",")) {
        if (!hop.isBlank()) hops.add(hop.strip());
      }
    }
    return hops;
  }
}
