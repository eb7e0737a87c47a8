package io.pisync.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The hand-written device id check agrees with the documented rule, written as a regex. */
class DeviceIdRuleTest {
  private static final Pattern RULE = Pattern.compile("[A-Za-z0-9._:-]{1,64}");
  private static final String ALPHABET = "aZ09._:- /\\\"\u00e9\u0000\t\u4e2d\ud83d\ude00";

  @Test
  void agreesWithTheRuleOnEdgeCasesAndRandomStrings() {
    for (String id :
        new String[] {"", "a", "x".repeat(64), "x".repeat(65), "box-1.school_9:a", "a b", "é"}) {
      assertThat(SyncEvent.isDeviceId(id)).as(id).isEqualTo(RULE.matcher(id).matches());
    }
    assertThat(SyncEvent.isDeviceId(null)).isFalse();
    var random = new SplittableRandom(7);
    for (int n = 0; n < 20_000; n++) {
      var id = new StringBuilder();
      int length = random.nextInt(0, 70);
      for (int i = 0; i < length; i++) {
        id.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
      }
      String text = id.toString();
      assertThat(SyncEvent.isDeviceId(text)).as(text).isEqualTo(RULE.matcher(text).matches());
    }
  }
}
