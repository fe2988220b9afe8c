package io.marchproxy.xds.load;

import java.util.UUID;

/** The next stage of the pipeline: told of every new revision, in order, per cluster. */
public interface RevisionListener {

  void onRevision(LoadedRevision revision);

  void onClusterRemoved(UUID clusterId);
}
