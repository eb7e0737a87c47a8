package io.pisync.sync;

import static io.pisync.support.SyncDevice.upsert;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pisync.support.SyncDevice;
import io.pisync.support.TestServer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A pull of 100,000 changes pages through to the end with nothing missing or repeated. */
class LargePullTest {
  static final int RECORDS = 100_000;
  static TestServer server;
  static Set<String> written = new HashSet<>();

  /**
   * Half the records in a scope the reader had from the start, half in one granted to it after they
   * were written (sent at the grant's position), with some deleted and some edited twice.
   */
  @BeforeAll
  static void load() {
    server = TestServer.start();
    for (String scope : List.of("school:early", "school:late")) {
      Grants.grant(server, "bulk-writer", scope);
    }
    Grants.grant(server, "bulk-reader", "school:early");
    var writer = new SyncDevice(server, "bulk-writer");
    for (int batch = 0; batch < RECORDS / 1000; batch++) {
      String scope = batch % 2 == 0 ? "school:early" : "school:late";
      List<Map<String, Object>> muts = new ArrayList<>(1000);
      for (int i = 0; i < 1000; i++) {
        String id = "r" + (batch * 1000 + i);
        muts.add(upsert("progress", scope, id, 0, Map.of("position", i, "pad", "x".repeat(40))));
        written.add("progress/" + scope + "/" + id);
      }
      assertThat(writer.push(muts).get("applied").asInt()).isEqualTo(1000);
    }
    List<Map<String, Object>> edits = new ArrayList<>();
    for (int i = 0; i < 1000; i += 7) {
      edits.add(upsert("progress", "school:early", "r" + i, 1, Map.of("position", 5000)));
    }
    writer.push(edits);
    List<Map<String, Object>> deletes = new ArrayList<>();
    for (int i = 1000; i < 1100; i++) {
      deletes.add(SyncDevice.delete("progress", "school:late", "r" + i, 1));
    }
    assertThat(writer.push(deletes).get("applied").asInt()).isEqualTo(100);
    Grants.grant(server, "bulk-reader", "school:late");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void pagesToTheEndWithNothingMissingOrRepeated() {
    var reader = new SyncDevice(server, "bulk-reader");
    Set<String> seen = new HashSet<>();
    List<String> repeated = new ArrayList<>();
    int pages = 0;
    JsonNode page;
    do {
      page = reader.pullPage(1_000);
      for (JsonNode change : page.get("changes")) {
        if (!seen.add(SyncDevice.keyOf(change))) repeated.add(SyncDevice.keyOf(change));
      }
      pages++;
    } while (page.get("has_more").asBoolean() && pages < 1_000);

    assertThat(repeated).isEmpty();
    assertThat(seen).hasSize(RECORDS).isEqualTo(written);
    assertThat(pages).isEqualTo(RECORDS / 1_000);
    assertThat(reader.local()).hasSize(RECORDS - 100);
    assertThat(reader.local("progress", "school:early", "r7").get("data").get("position").asInt())
        .isEqualTo(5000);
    assertThat(reader.pullAll()).isEmpty();
  }
}
