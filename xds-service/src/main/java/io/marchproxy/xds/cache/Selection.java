package io.marchproxy.xds.cache;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import java.util.AbstractList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.RandomAccess;

/**
 * The resources of one response, in order, each with the {@code Any} it was packed into when its
 * snapshot was built. The server's serializer ({@link PackedResources}) takes {@link #packed()} as
 * is, so no resource is looked up or packed again per response; and every stream given the same
 * selection of a snapshot gets the very same {@code Any} objects, which is what lets the serving
 * side encode their response body once ({@code io.marchproxy.xds.serve.SharedBodies}). Immutable.
 */
public final class Selection extends AbstractList<Message> implements RandomAccess {

  private final Message[] messages;
  private final List<Any> packed;

  private Selection(Message[] messages, Any[] packed) {
    this.messages = messages;
    this.packed = Collections.unmodifiableList(Arrays.asList(packed));
  }

  static Selection of(List<ResourceSet.Entry> entries) {
    Message[] m = new Message[entries.size()];
    Any[] a = new Any[entries.size()];
    for (int i = 0; i < m.length; i++) {
      m[i] = entries.get(i).message();
      a[i] = entries.get(i).packed();
    }
    return new Selection(m, a);
  }

  /** The packed resources, in the same order; the same list object on every call. */
  public List<Any> packed() {
    return packed;
  }

  @Override
  public Message get(int index) {
    return messages[index];
  }

  @Override
  public int size() {
    return messages.length;
  }
}
