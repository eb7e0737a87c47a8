package io.pisync.sync;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.pisync.http.ApiProblem;
import io.pisync.http.FieldError;
import io.pisync.http.JsonBody;
import io.pisync.http.ProblemType;
import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the body of a push (or push and pull) so that what is wrong inside one mutation is that
 * mutation's problem, not the push's: a duplicate key, or nesting deeper than {@code
 * PISYNC_JSON_MAX_DEPTH}, rejects the mutation alone. A body over the size limit gets a 413 that
 * says how to split it.
 *
 * @param tree the body; with duplicate keys, the last value of each
 * @param itemErrors per index of {@code mutations}, the problem found in that mutation
 */
record PushBody(JsonNode tree, Map<Integer, FieldError> itemErrors) {
  /** Deepest nesting a push body may have at all (deeper: 400, as for any request). */
  static final int HARD_MAX_DEPTH = 256;

  /** Levels of a push body down to a mutation's fields: the body, {@code mutations}, the item. */
  private static final int ITEM_DEPTH = 3;

  /** Reads push bodies; one per server. */
  static final class Reader {
    private final ObjectMapper strict;
    private final ObjectMapper lenient;
    private final int maxDepth;

    Reader(ObjectMapper mapper) {
      this.strict = mapper;
      StreamReadConstraints limits = mapper.getFactory().streamReadConstraints();
      this.maxDepth = limits.getMaxNestingDepth();
      this.lenient = mapper.copy().disable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);
      this.lenient
          .getFactory()
          .setStreamReadConstraints(
              limits.rebuild().maxNestingDepth(Math.max(maxDepth, HARD_MAX_DEPTH)).build());
    }

    /**
     * The body. A well-formed one is read as every request's body is; one the strict reading
     * refuses is read again leniently and searched for duplicate keys and deep nesting: inside a
     * mutation they become that mutation's error, elsewhere a 400 naming the field.
     */
    PushBody read(Context ctx) {
      try {
        return new PushBody(JsonBody.read(ctx, strict), Map.of());
      } catch (HttpResponseException e) {
        throw e.getStatus() == 413 ? tooLarge(ctx) : e;
      } catch (ApiProblem e) {
        if (e.type() == ProblemType.PAYLOAD_TOO_LARGE) throw tooLarge(ctx);
        if (e.type() != ProblemType.MALFORMED_JSON) throw e;
      }
      JsonNode tree = JsonBody.read(ctx, lenient);
      return new PushBody(tree, new Scan(maxDepth).items(lenient, JsonBody.bytes(ctx)));
    }

    private static ApiProblem tooLarge(Context ctx) {
      Long max = ctx.attribute(JsonBody.MAX_BODY_BYTES);
      if (max == null)
        return new ApiProblem(ProblemType.PAYLOAD_TOO_LARGE, "the push is too large");
      return new ApiProblem(
              ProblemType.PAYLOAD_TOO_LARGE,
              "the push is larger than "
                  + max
                  + " bytes, the most this server takes in one request: split the mutations,"
                  + " in order, into several pushes of at most "
                  + max
                  + " bytes each")
          .withMember("max_bytes", max);
    }
  }

  /** One pass over the body's tokens. */
  private static final class Scan {
    private final int maxDepth;
    private final Map<Integer, FieldError> items = new HashMap<>();

    Scan(int maxDepth) {
      this.maxDepth = maxDepth;
    }

    Map<Integer, FieldError> items(ObjectMapper mapper, byte[] body) {
      try (JsonParser p = mapper.getFactory().createParser(body)) {
        if (p.nextToken() != JsonToken.START_OBJECT) return items;
        Set<String> names = new HashSet<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          if (!names.add(name)) throw whole(name, name, duplicate());
          JsonToken value = p.nextToken();
          if (name.equals("mutations") && value == JsonToken.START_ARRAY) {
            for (int i = 0; p.nextToken() != JsonToken.END_ARRAY; i++) {
              Found found = value(p, "", ITEM_DEPTH - 1);
              if (found != null) items.put(i, found.error(maxDepth));
            }
          } else {
            Found found = value(p, name, 1);
            if (found != null) throw whole(found.error(maxDepth));
          }
        }
        return items;
      } catch (IOException e) {
        throw new IllegalStateException("a body that parsed once did not parse again", e);
      }
    }

    private static String duplicate() {
      return "is a duplicate key: a JSON object names each key once";
    }

    private static ApiProblem whole(String field, Object value, String message) {
      return whole(new FieldError(field, value, message));
    }

    private static ApiProblem whole(FieldError error) {
      return ApiProblem.invalid(List.of(error));
    }

    /**
     * A problem: a duplicate key ({@code key} set), or nesting {@code depth} levels deep, counted
     * from the body, under the field {@code path}.
     */
    private record Found(String path, String key, int depth) {
      FieldError error(int maxDepth) {
        if (key != null) return new FieldError(path, key, duplicate());
        int levels = depth - ITEM_DEPTH;
        return new FieldError(
            path,
            levels + " levels",
            "must nest at most "
                + (maxDepth - ITEM_DEPTH)
                + " levels (PISYNC_JSON_MAX_DEPTH "
                + maxDepth
                + " counts from the request body)");
      }
    }

    /**
     * Reads the value at the current token, at {@code depth} open containers around it, and returns
     * its first duplicate key or, failing that, its deepest nesting beyond the limit.
     */
    private Found value(JsonParser p, String path, int depth) throws IOException {
      JsonToken token = p.currentToken();
      if (token != JsonToken.START_OBJECT && token != JsonToken.START_ARRAY) return null;
      int level = depth + 1;
      Found found = level > maxDepth ? new Found(topField(path), null, level) : null;
      if (token == JsonToken.START_ARRAY) {
        for (int i = 0; p.nextToken() != JsonToken.END_ARRAY; i++) {
          found = worse(found, value(p, path + "[" + i + "]", level));
        }
        return found;
      }
      Set<String> names = new HashSet<>();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        String at = path.isEmpty() ? name : path + "." + name;
        if (!names.add(name)) found = worse(found, new Found(at, name, level));
        p.nextToken();
        found = worse(found, value(p, at, level));
      }
      return found;
    }

    /** A duplicate key first (the first found), then the deepest nesting. */
    private static Found worse(Found a, Found b) {
      if (a == null || b == null) return a == null ? b : a;
      if (a.key() != null || b.key() != null) return a.key() != null ? a : b;
      return b.depth() > a.depth() ? b : a;
    }

    /** The field of the mutation (or body) that a path is under. */
    private static String topField(String path) {
      int end = path.length();
      for (int i = 0; i < path.length(); i++) {
        if (path.charAt(i) == '.' || path.charAt(i) == '[') {
          end = i;
          break;
        }
      }
      return path.substring(0, end);
    }
  }
}
