# The MarchProxy L4 proxy AMI. Build the jar first (./mvnw -pl l4-proxy-ami -am package), then:
#   packer init l4-proxy-ami/ami/packer && packer build -var region=eu-west-1 l4-proxy-ami/ami/packer
packer {
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.3.0"
    }
  }
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "instance_type" {
  type    = string
  default = "c7i.large"
}

variable "version" {
  type    = string
  default = "0.1.0"
}

variable "build_dir" {
  type        = string
  description = "l4-proxy-ami/target (the jar and lib/)"
  default     = "../../target"
}

source "amazon-ebs" "l4_proxy" {
  region        = var.region
  instance_type = var.instance_type
  ssh_username  = "admin"
  ami_name      = "marchproxy-l4-${var.version}-{{timestamp}}"
  source_ami_filter {
    filters = {
      name                = "debian-12-amd64-*"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = ["136693071363"] # Debian
    most_recent = true
  }
  tags = {
    Name      = "marchproxy-l4"
    Component = "l4-proxy"
    Version   = var.version
  }
}

build {
  sources = ["source.amazon-ebs.l4_proxy"]

  provisioner "shell" {
    inline = ["mkdir -p /tmp/marchproxy-l4/lib"]
  }
  provisioner "file" {
    source      = "${var.build_dir}/l4-proxy.jar"
    destination = "/tmp/marchproxy-l4/l4-proxy.jar"
  }
  provisioner "file" {
    source      = "${var.build_dir}/lib/"
    destination = "/tmp/marchproxy-l4/lib"
  }
  provisioner "file" {
    source      = "${path.root}/../systemd/marchproxy-l4.service"
    destination = "/tmp/marchproxy-l4/marchproxy-l4.service"
  }
  provisioner "file" {
    source      = "${path.root}/../systemd/marchproxy-l4-key.service"
    destination = "/tmp/marchproxy-l4/marchproxy-l4-key.service"
  }
  provisioner "file" {
    source      = "${path.root}/../scripts/fetch-cluster-key.sh"
    destination = "/tmp/marchproxy-l4/fetch-cluster-key.sh"
  }
  provisioner "shell" {
    script          = "${path.root}/../scripts/install.sh"
    execute_command = "sudo sh -c '{{ .Vars }} {{ .Path }}'"
  }
}
