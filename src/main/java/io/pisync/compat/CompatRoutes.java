package io.pisync.compat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pisync.device.DeviceStore;
import io.pisync.http.Routes;
import io.pisync.telemetry.EventParser;
import io.pisync.telemetry.EventStore;
import io.pisync.telemetry.Ingestion;
import java.time.InstantSource;

/** Placeholder: the routes of the two earlier PiSync APIs are being written. */
public final class CompatRoutes {
  public CompatRoutes(
      Ingestion ingestion,
      EventStore store,
      DeviceStore devices,
      EventParser parser,
      ObjectMapper mapper,
      InstantSource clock) {}

  public void register(Routes routes) {}
}
