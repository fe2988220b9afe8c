package io.marchproxy.l4.config;

import io.marchproxy.l4.policy.Cidr;
import java.net.InetAddress;
import java.util.List;

/**
 * Network RBAC reduced to what decides an L4 connection: ALLOW or DENY when any principal matches
 * the source. {@code direct} principals see the peer of the socket, the others the source a PROXY
 * protocol header declared (the peer when there was none).
 */
public record Rbac(boolean allow, List<Principal> principals) {

  public Rbac {
    principals = List.copyOf(principals);
  }

  public sealed interface Principal permits Any, SourceIp {}

  public record Any() implements Principal {}

  public record SourceIp(Cidr cidr, boolean direct) implements Principal {}

  /** Whether a connection from these addresses may proceed. */
  public boolean permits(InetAddress peer, InetAddress declaredSource) {
    boolean matched = false;
    for (Principal p : principals) {
      matched =
          switch (p) {
            case Any a -> true;
            case SourceIp ip -> ip.cidr().contains(ip.direct() ? peer : declaredSource);
          };
      if (matched) {
        break;
      }
    }
    return allow == matched;
  }
}
