package io.pisync.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/** The one JSON mapper of the server. */
public final class Json {
  private Json() {}

  /** Buffer sets kept for reuse: about the requests one instance parses or answers at once. */
  private static final int BUFFER_SETS = 256;

  /** A mapper that refuses documents nested deeper, or with more tokens, than given. */
  public static ObjectMapper newMapper(int maxNestingDepth, int maxTokenCount) {
    // Jackson's default buffer pool is per thread; every request runs on a new virtual thread, so
    // it would allocate fresh buffers for every body read and every answer written. Bounded, so a
    // burst of slow clients does not leave the heap holding its buffers for good.
    ObjectMapper mapper =
        new ObjectMapper(
            JsonFactory.builder()
                .recyclerPool(JsonRecyclerPools.newBoundedPool(BUFFER_SETS))
                .build());
    mapper
        .getFactory()
        .setStreamReadConstraints(
            StreamReadConstraints.builder()
                .maxNestingDepth(maxNestingDepth)
                .maxTokenCount(maxTokenCount)
                .maxStringLength(1_000_000)
                .maxNumberLength(100)
                .build());
    mapper.registerModule(new JavaTimeModule());
    mapper.disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    mapper.enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);
    mapper.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    mapper.enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    return mapper;
  }
}
