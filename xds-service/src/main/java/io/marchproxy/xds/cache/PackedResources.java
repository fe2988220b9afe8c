package io.marchproxy.xds.cache;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.serializer.ProtoResourcesSerializer;
import java.util.Collection;

/**
 * Each resource packed into its {@code Any} once, when its snapshot is built ({@link
 * ResourceSet#of} already serializes it to hash it), and reused for every proxy it is sent to.
 * java-control-plane's default serializer packs every resource again for every response: at 10k
 * clusters × 100 proxies that was a third of the CPU.
 *
 * <p>A state-of-the-world response's resources come from the cache as a {@link Selection}, which
 * carries them packed: taken as is. Delta responses hand the resources over one by one; those are
 * found in a weak-identity cache filled when the snapshot was built (entries go when their snapshot
 * does).
 */
public final class PackedResources implements ProtoResourcesSerializer {

  /** Weak keys compare by identity: the very message a snapshot holds. Lock-striped reads. */
  private static final Cache<Message, Any> PACKED =
      CacheBuilder.newBuilder().weakKeys().concurrencyLevel(16).build();

  static void remember(Message message, Any packed) {
    PACKED.put(message, packed);
  }

  @Override
  public Collection<Any> serialize(
      Collection<? extends Message> resources, Resources.ApiVersion apiVersion) {
    if (resources instanceof Selection s) {
      return s.packed();
    }
    return ProtoResourcesSerializer.super.serialize(resources, apiVersion);
  }

  @Override
  public Any serialize(Message resource, Resources.ApiVersion apiVersion) {
    Any packed = PACKED.getIfPresent(resource);
    return packed != null ? packed : Any.pack(resource);
  }
}
