package io.marchproxy.xdp;

import java.util.Optional;

/**
 * The program is attached to an interface.
 *
 * @param mode the mode it actually runs in
 * @param fallbackReason why native mode was refused, when the attach fell back to generic
 */
public record Attachment(
    String iface, int ifindex, AttachMode mode, Optional<String> fallbackReason) {}
