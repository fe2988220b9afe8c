package io.marchproxy.api.routes;

import io.marchproxy.api.desiredstate.NetworkRules;
import io.marchproxy.api.problem.Checks;
import io.marchproxy.core.config.RouteSpec;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** Create or replace an L7 route. */
@Serdeable
public record RouteRequest(
    @Nullable String name,
    @Nullable List<String> hosts,
    @Nullable RouteSpec.Match match,
    @Nullable List<RouteSpec.Backend> backends,
    @Nullable Integer timeoutMs,
    @Nullable RouteSpec.Retries retries,
    @Nullable RouteSpec.Auth auth,
    @Nullable String feature,
    @Nullable Integer priority) {

  static final Set<String> METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE");
  static final Set<String> RETRY_ON =
      Set.of(
          "5xx",
          "gateway-error",
          "reset",
          "connect-failure",
          "retriable-4xx",
          "refused-stream",
          "unavailable",
          "cancelled");
  private static final Pattern HEADER_NAME =
      Pattern.compile("^:?[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,128}$");
  private static final Pattern FEATURE = Pattern.compile("^[a-z0-9][a-z0-9_.-]{0,63}$");

  RouteSpec toSpec() {
    return new RouteSpec(
        hosts,
        match,
        backends.stream()
            .map(b -> new RouteSpec.Backend(b.service(), b.weight() == null ? 1 : b.weight()))
            .toList(),
        timeoutMs,
        retries,
        auth,
        feature,
        priority == null ? 0 : priority);
  }

  void validate() {
    var c = new Checks();
    c.name(name, "name");
    if (c.required(hosts, "hosts")) {
      c.check(!hosts.isEmpty(), "hosts", "must list at least one host ('*' for any)");
      c.maxItems(hosts, 50, "hosts");
      for (int i = 0; i < hosts.size(); i++) {
        c.check(
            NetworkRules.isRouteHost(hosts.get(i)),
            "hosts[" + i + "]",
            "must be a hostname, *.domain or *");
      }
    }
    if (c.required(match, "match")) {
      int paths =
          (match.pathPrefix() == null ? 0 : 1)
              + (match.pathExact() == null ? 0 : 1)
              + (match.pathRegex() == null ? 0 : 1);
      c.check(paths == 1, "match", "needs exactly one of pathPrefix, pathExact, pathRegex");
      c.check(
          match.pathPrefix() == null || match.pathPrefix().startsWith("/"),
          "match.pathPrefix",
          "must start with '/'");
      c.check(
          match.pathExact() == null || match.pathExact().startsWith("/"),
          "match.pathExact",
          "must start with '/'");
      c.maxLength(match.pathPrefix(), 1024, "match.pathPrefix")
          .maxLength(match.pathExact(), 1024, "match.pathExact");
      if (match.pathRegex() != null) {
        c.maxLength(match.pathRegex(), 1024, "match.pathRegex");
        c.check(
            compiles(match.pathRegex()), "match.pathRegex", "is not a valid regular expression");
      }
      if (match.headers() != null) {
        c.maxItems(match.headers(), 20, "match.headers");
        for (int i = 0; i < match.headers().size(); i++) {
          var h = match.headers().get(i);
          String f = "match.headers[" + i + "]";
          c.check(
              h.name() != null && HEADER_NAME.matcher(h.name()).matches(),
              f + ".name",
              "must be a header name");
          int kinds =
              (h.exact() == null ? 0 : 1)
                  + (h.prefix() == null ? 0 : 1)
                  + (h.regex() == null ? 0 : 1)
                  + (h.present() == null ? 0 : 1);
          c.check(kinds == 1, f, "needs exactly one of exact, prefix, regex, present");
          c.check(
              h.regex() == null || compiles(h.regex()),
              f + ".regex",
              "is not a valid regular expression");
        }
      }
      if (match.methods() != null) {
        c.check(
            !match.methods().isEmpty() && METHODS.containsAll(match.methods()),
            "match.methods",
            "must be a non-empty subset of " + METHODS);
      }
    }
    if (c.required(backends, "backends")) {
      c.check(!backends.isEmpty(), "backends", "must name at least one service");
      c.maxItems(backends, 20, "backends");
      for (int i = 0; i < backends.size(); i++) {
        var b = backends.get(i);
        c.name(b.service(), "backends[" + i + "].service");
        c.range(b.weight(), 1, 1000, "backends[" + i + "].weight");
      }
    }
    c.range(timeoutMs, 0, 3_600_000, "timeoutMs");
    if (retries != null) {
      c.range(retries.attempts(), 0, 10, "retries.attempts");
      c.check(
          retries.on() == null || RETRY_ON.containsAll(retries.on()),
          "retries.on",
          "must be a subset of " + RETRY_ON);
      c.range(retries.perTryTimeoutMs(), 1, 3_600_000, "retries.perTryTimeoutMs");
    }
    if (auth != null && auth.exemptPaths() != null) {
      c.maxItems(auth.exemptPaths(), 50, "auth.exemptPaths");
      for (int i = 0; i < auth.exemptPaths().size(); i++) {
        String p = auth.exemptPaths().get(i);
        c.check(
            p != null && p.startsWith("/") && p.length() <= 1024,
            "auth.exemptPaths[" + i + "]",
            "must be a path starting with '/'");
      }
    }
    c.check(
        feature == null || FEATURE.matcher(feature).matches(),
        "feature",
        "must be a feature tag like 'waf' or 'rate-limits'");
    c.range(priority, 0, 1000, "priority");
    c.throwIfInvalid();
  }

  private static boolean compiles(String regex) {
    try {
      Pattern.compile(regex);
      return true;
    } catch (PatternSyntaxException e) {
      return false;
    }
  }
}
